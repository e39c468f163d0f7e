/* $Header: xxmlc_connector.pks 120.0 2026/11/26 00:00:00 mlconnector noship $ */
SET VERIFY OFF
WHENEVER SQLERROR EXIT FAILURE ROLLBACK;

/*#
 * Custom services used by ml-connector (Amazon settlements into EBS) beyond Oracle's seeded
 * open interfaces: the GL_INTERFACE_CONTROL hand-off (GROUP_ID from GL_INTERFACE_CONTROL_S),
 * journals by group or by line references, account combination checks, open periods,
 * concurrent request status with children, AR transactions by request, items, ledgers
 * (name and currency), daily conversion rates, and AR cash receipts: creation
 * (AR_RECEIPT_API_PUB.create_cash), applications to transactions (AR_RECEIPT_API_PUB.apply),
 * credit memo applications (AR_CM_APPLICATION_PUB.apply_on_account) and their read services.
 * Deploy as REST under the alias configured in ml-connector (default xxmlc).
 * Every procedure returns X_RETURN_STATUS (S/E) and X_MSG_DATA; business failures are not
 * raised, so the REST call answers 200 with X_RETURN_STATUS = E.
 * @rep:scope public
 * @rep:product XXMLC
 * @rep:lifecycle active
 * @rep:displayname ML Connector Integration Services
 * @rep:compatibility S
 * @rep:category BUSINESS_ENTITY GL_JOURNAL
 */
CREATE OR REPLACE PACKAGE XXMLC_INTEGRATION_PKG AUTHID CURRENT_USER AS

  -- Journal lines as read back (GL_JE_LINES with REFERENCE_1..10).
  TYPE journal_line_rec IS RECORD (
    JE_LINE_NUM          NUMBER,
    CODE_COMBINATION_ID  NUMBER,
    ACCOUNT              VARCHAR2(240),
    ENTERED_DR           NUMBER,
    ENTERED_CR           NUMBER,
    ACCOUNTED_DR         NUMBER,
    ACCOUNTED_CR         NUMBER,
    DESCRIPTION          VARCHAR2(240),
    REFERENCE_1          VARCHAR2(240),
    REFERENCE_2          VARCHAR2(240),
    REFERENCE_3          VARCHAR2(240),
    REFERENCE_4          VARCHAR2(240),
    REFERENCE_5          VARCHAR2(240),
    REFERENCE_6          VARCHAR2(240),
    REFERENCE_7          VARCHAR2(240),
    REFERENCE_8          VARCHAR2(240),
    REFERENCE_9          VARCHAR2(240),
    REFERENCE_10         VARCHAR2(240)
  );
  TYPE journal_line_tbl IS TABLE OF journal_line_rec INDEX BY BINARY_INTEGER;

  TYPE journal_rec IS RECORD (
    JE_BATCH_ID                 NUMBER,
    BATCH_NAME                  VARCHAR2(100),
    BATCH_STATUS                VARCHAR2(1),
    JE_HEADER_ID                NUMBER,
    JOURNAL_NAME                VARCHAR2(100),
    LEDGER_ID                   NUMBER,
    PERIOD_NAME                 VARCHAR2(15),
    CURRENCY_CODE               VARCHAR2(15),
    USER_JE_SOURCE_NAME         VARCHAR2(25),
    USER_JE_CATEGORY_NAME       VARCHAR2(25),
    STATUS                      VARCHAR2(1),
    GROUP_ID                    NUMBER,
    REQUEST_ID                  NUMBER,
    EXTERNAL_REFERENCE          VARCHAR2(80),
    RUNNING_TOTAL_DR            NUMBER,
    RUNNING_TOTAL_CR            NUMBER,
    RUNNING_TOTAL_ACCOUNTED_DR  NUMBER,
    RUNNING_TOTAL_ACCOUNTED_CR  NUMBER,
    LINES                       journal_line_tbl
  );
  TYPE journal_tbl IS TABLE OF journal_rec INDEX BY BINARY_INTEGER;

  TYPE request_rec IS RECORD (
    REQUEST_ID         NUMBER,
    PROGRAM            VARCHAR2(30),
    PHASE_CODE         VARCHAR2(1),
    STATUS_CODE        VARCHAR2(1),
    DEV_PHASE          VARCHAR2(30),
    DEV_STATUS         VARCHAR2(30),
    COMPLETION_TEXT    VARCHAR2(240),
    PARENT_REQUEST_ID  NUMBER
  );
  TYPE request_tbl IS TABLE OF request_rec INDEX BY BINARY_INTEGER;

  TYPE period_rec IS RECORD (
    PERIOD_NAME     VARCHAR2(15),
    START_DATE      DATE,
    END_DATE        DATE,
    CLOSING_STATUS  VARCHAR2(1),
    PERIOD_YEAR     NUMBER,
    PERIOD_NUM      NUMBER
  );
  TYPE period_tbl IS TABLE OF period_rec INDEX BY BINARY_INTEGER;

  TYPE trx_line_rec IS RECORD (
    CUSTOMER_TRX_LINE_ID      NUMBER,
    LINE_NUMBER               NUMBER,
    LINE_TYPE                 VARCHAR2(20),
    DESCRIPTION               VARCHAR2(240),
    QUANTITY                  NUMBER,
    UNIT_SELLING_PRICE        NUMBER,
    AMOUNT                    NUMBER,
    INTERFACE_LINE_CONTEXT    VARCHAR2(30),
    INTERFACE_LINE_ATTRIBUTE1 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE2 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE3 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE4 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE5 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE6 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE7 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE8 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE9 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE10 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE11 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE12 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE13 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE14 VARCHAR2(150),
    INTERFACE_LINE_ATTRIBUTE15 VARCHAR2(150)
  );
  TYPE trx_line_tbl IS TABLE OF trx_line_rec INDEX BY BINARY_INTEGER;

  TYPE trx_rec IS RECORD (
    CUSTOMER_TRX_ID       NUMBER,
    TRX_NUMBER            VARCHAR2(20),
    TRX_DATE              DATE,
    GL_DATE               DATE,
    CUST_TRX_TYPE_NAME    VARCHAR2(20),
    TRX_CLASS             VARCHAR2(20),
    BILL_TO_CUSTOMER_REF  VARCHAR2(240),
    CURRENCY_CODE         VARCHAR2(15),
    ORG_ID                NUMBER,
    REQUEST_ID            NUMBER,
    BATCH_SOURCE_NAME     VARCHAR2(50),
    TERM_NAME             VARCHAR2(15),
    AMOUNT                NUMBER,
    LINES                 trx_line_tbl
  );
  TYPE trx_tbl IS TABLE OF trx_rec INDEX BY BINARY_INTEGER;

  TYPE item_rec IS RECORD (
    INVENTORY_ITEM_ID           NUMBER,
    ORGANIZATION_ID             NUMBER,
    SEGMENT1                    VARCHAR2(40),
    DESCRIPTION                 VARCHAR2(240),
    PRIMARY_UOM_CODE            VARCHAR2(3),
    INVENTORY_ITEM_STATUS_CODE  VARCHAR2(10),
    PRICE_LIST                  VARCHAR2(240),
    LIST_PRICE                  NUMBER,
    CURRENCY_CODE               VARCHAR2(15),
    AVAILABLE_QUANTITY          NUMBER,
    LAST_UPDATE_DATE            DATE
  );
  TYPE item_tbl IS TABLE OF item_rec INDEX BY BINARY_INTEGER;

  -- A receipt application (AR_RECEIVABLE_APPLICATIONS_ALL, status APP) of get_receipt.
  TYPE receipt_app_rec IS RECORD (
    RECEIVABLE_APPLICATION_ID  NUMBER,
    TRX_NUMBER                 VARCHAR2(20),
    TRX_CLASS                  VARCHAR2(20),
    AMOUNT_APPLIED             NUMBER,
    APPLY_DATE                 DATE,
    GL_DATE                    DATE
  );
  TYPE receipt_app_tbl IS TABLE OF receipt_app_rec INDEX BY BINARY_INTEGER;

  -- An application touching a transaction (get_transaction): CASH (a receipt) or CM.
  TYPE trx_app_rec IS RECORD (
    RECEIVABLE_APPLICATION_ID  NUMBER,
    APPLICATION_TYPE           VARCHAR2(10),
    RECEIPT_NUMBER             VARCHAR2(30),
    RECEIPT_METHOD             VARCHAR2(30),
    CM_TRX_NUMBER              VARCHAR2(20),
    INV_TRX_NUMBER             VARCHAR2(20),
    AMOUNT_APPLIED             NUMBER,
    APPLY_DATE                 DATE
  );
  TYPE trx_app_tbl IS TABLE OF trx_app_rec INDEX BY BINARY_INTEGER;

  /*#
   * Journal Import hand-off: inserts the GL_INTERFACE_CONTROL row for a source, ledger and
   * group (GL_JOURNAL_IMPORT_PKG.POPULATE_INTERFACE_CONTROL). A missing group id is drawn
   * from GL_INTERFACE_CONTROL_S, the run id from GL_JOURNAL_IMPORT_S. Commits.
   * @param P_USER_JE_SOURCE_NAME journal source user name (e.g. Amazon)
   * @param P_LEDGER_ID ledger id
   * @param P_GROUP_ID group id to reuse; NULL draws a new one
   * @param P_PROCESSED_DATA_ACTION DELETE_DATA (default) or SAVE_DATA
   * @param X_GROUP_ID the group id to put on the GL_INTERFACE rows
   * @param X_INTERFACE_RUN_ID argument 1 of Journal Import (GLLEZL)
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Populate Journal Import Control
   */
  PROCEDURE populate_interface_control(
    P_USER_JE_SOURCE_NAME    IN  VARCHAR2,
    P_LEDGER_ID              IN  NUMBER,
    P_GROUP_ID               IN  NUMBER   DEFAULT NULL,
    P_PROCESSED_DATA_ACTION  IN  VARCHAR2 DEFAULT NULL,
    X_GROUP_ID               OUT NUMBER,
    X_INTERFACE_RUN_ID       OUT NUMBER,
    X_RETURN_STATUS          OUT VARCHAR2,
    X_MSG_DATA               OUT VARCHAR2);

  /*#
   * Journals (batch, header, lines) created by Journal Import for a group id.
   * @param P_GROUP_ID group id of the import
   * @param P_LEDGER_ID optional ledger filter
   * @param X_JOURNALS journals with their lines
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Journals By Group
   */
  PROCEDURE get_journals_by_group(
    P_GROUP_ID       IN  NUMBER,
    P_LEDGER_ID      IN  NUMBER DEFAULT NULL,
    X_JOURNALS       OUT journal_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2);

  /*#
   * Journals having at least one line whose REFERENCE_n (GL_INTERFACE REFERENCE2n) match all
   * given values; all lines of those journals are returned. At least one reference required.
   * @param P_USER_JE_SOURCE_NAME optional source filter
   * @param P_LEDGER_ID optional ledger filter
   * @param P_REFERENCE_1 settlement id (REFERENCE21)
   * @param P_REFERENCE_2 period name (REFERENCE22)
   * @param P_REFERENCE_3 line key (REFERENCE23)
   * @param P_REFERENCE_4 revision (REFERENCE24)
   * @param P_REFERENCE_5 original period (REFERENCE25)
   * @param X_JOURNALS journals with their lines
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Journals By Reference
   */
  PROCEDURE get_journals_by_reference(
    P_USER_JE_SOURCE_NAME IN  VARCHAR2 DEFAULT NULL,
    P_LEDGER_ID           IN  NUMBER   DEFAULT NULL,
    P_REFERENCE_1         IN  VARCHAR2 DEFAULT NULL,
    P_REFERENCE_2         IN  VARCHAR2 DEFAULT NULL,
    P_REFERENCE_3         IN  VARCHAR2 DEFAULT NULL,
    P_REFERENCE_4         IN  VARCHAR2 DEFAULT NULL,
    P_REFERENCE_5         IN  VARCHAR2 DEFAULT NULL,
    X_JOURNALS            OUT journal_tbl,
    X_RETURN_STATUS       OUT VARCHAR2,
    X_MSG_DATA            OUT VARCHAR2);

  /*#
   * Transactions created by an AutoInvoice request (RAXMTR master or RAXTRX child).
   * @param P_REQUEST_ID request id
   * @param X_TRANSACTIONS transactions with their lines and flexfields
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Transactions By Request
   */
  PROCEDURE get_transactions_by_request(
    P_REQUEST_ID     IN  NUMBER,
    X_TRANSACTIONS   OUT trx_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2);

  /*#
   * Status of a concurrent request (FND_CONCURRENT.GET_REQUEST_STATUS) with its children.
   * @param P_REQUEST_ID request id
   * @param X_REQUEST_ID request id
   * @param X_PROGRAM concurrent program short name
   * @param X_PHASE_CODE FND_CONCURRENT_REQUESTS.PHASE_CODE
   * @param X_STATUS_CODE FND_CONCURRENT_REQUESTS.STATUS_CODE
   * @param X_PHASE translated phase
   * @param X_STATUS translated status
   * @param X_DEV_PHASE PENDING, RUNNING, COMPLETE, INACTIVE
   * @param X_DEV_STATUS NORMAL, ERROR, WARNING, ...
   * @param X_MESSAGE completion text
   * @param X_PARENT_REQUEST_ID parent request id
   * @param X_REQUEST_DATE request date
   * @param X_ACTUAL_START_DATE start
   * @param X_ACTUAL_COMPLETION_DATE completion
   * @param X_CHILDREN child requests
   * @param X_RETURN_STATUS S or E (unknown request)
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Request Status
   */
  PROCEDURE get_request_status(
    P_REQUEST_ID              IN  NUMBER,
    X_REQUEST_ID              OUT NUMBER,
    X_PROGRAM                 OUT VARCHAR2,
    X_PHASE_CODE              OUT VARCHAR2,
    X_STATUS_CODE             OUT VARCHAR2,
    X_PHASE                   OUT VARCHAR2,
    X_STATUS                  OUT VARCHAR2,
    X_DEV_PHASE               OUT VARCHAR2,
    X_DEV_STATUS              OUT VARCHAR2,
    X_MESSAGE                 OUT VARCHAR2,
    X_PARENT_REQUEST_ID       OUT NUMBER,
    X_REQUEST_DATE            OUT DATE,
    X_ACTUAL_START_DATE       OUT DATE,
    X_ACTUAL_COMPLETION_DATE  OUT DATE,
    X_CHILDREN                OUT request_tbl,
    X_RETURN_STATUS           OUT VARCHAR2,
    X_MSG_DATA                OUT VARCHAR2);

  /*#
   * Child requests of a request (RAXMTR spawns RAXTRX).
   * @param P_REQUEST_ID parent request id
   * @param X_REQUESTS children
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Child Requests
   */
  PROCEDURE get_child_requests(
    P_REQUEST_ID     IN  NUMBER,
    X_REQUESTS       OUT request_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2);

  /*#
   * Account combination of a ledger's chart of accounts, by concatenated segments or id.
   * Never creates a combination.
   * @param P_LEDGER_ID ledger id (selects the chart of accounts)
   * @param P_CONCATENATED_SEGMENTS e.g. 01-000-1190-0000-000
   * @param P_CODE_COMBINATION_ID alternatively the id
   * @param X_EXISTS Y or N
   * @param X_CODE_COMBINATION_ID id
   * @param X_CONCATENATED_SEGMENTS segments
   * @param X_ENABLED_FLAG Y or N
   * @param X_DETAIL_POSTING_ALLOWED_FLAG Y or N
   * @param X_START_DATE_ACTIVE start date
   * @param X_END_DATE_ACTIVE end date
   * @param X_VALID Y when usable today
   * @param X_VALIDATION_MESSAGE why not
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Account Combination
   */
  PROCEDURE get_account(
    P_LEDGER_ID                    IN  NUMBER,
    P_CONCATENATED_SEGMENTS        IN  VARCHAR2 DEFAULT NULL,
    P_CODE_COMBINATION_ID          IN  NUMBER   DEFAULT NULL,
    X_EXISTS                       OUT VARCHAR2,
    X_CODE_COMBINATION_ID          OUT NUMBER,
    X_CONCATENATED_SEGMENTS        OUT VARCHAR2,
    X_ENABLED_FLAG                 OUT VARCHAR2,
    X_DETAIL_POSTING_ALLOWED_FLAG  OUT VARCHAR2,
    X_START_DATE_ACTIVE            OUT DATE,
    X_END_DATE_ACTIVE              OUT DATE,
    X_VALID                        OUT VARCHAR2,
    X_VALIDATION_MESSAGE           OUT VARCHAR2,
    X_RETURN_STATUS                OUT VARCHAR2,
    X_MSG_DATA                     OUT VARCHAR2);

  /*#
   * Open (O) and future-enterable (F) periods of a ledger for GL, AR or AP.
   * @param P_LEDGER_ID ledger id
   * @param P_APPLICATION SQLGL (default), AR or SQLAP
   * @param X_PERIODS periods
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Open Periods
   */
  PROCEDURE get_open_periods(
    P_LEDGER_ID      IN  NUMBER,
    P_APPLICATION    IN  VARCHAR2 DEFAULT 'SQLGL',
    X_PERIODS        OUT period_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2);

  /*#
   * Items of an inventory organization with list price and available quantity, paged.
   * @param P_ORGANIZATION_ID organization id
   * @param P_PRICE_LIST price list name
   * @param P_UPDATED_SINCE only items updated since
   * @param P_OFFSET rows to skip
   * @param P_LIMIT rows to return (max 1000)
   * @param X_ITEMS items
   * @param X_TOTAL_COUNT matching rows
   * @param X_HAS_MORE Y or N
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Items
   */
  PROCEDURE get_items(
    P_ORGANIZATION_ID IN  NUMBER,
    P_PRICE_LIST      IN  VARCHAR2 DEFAULT 'AMAZON US',
    P_UPDATED_SINCE   IN  DATE     DEFAULT NULL,
    P_OFFSET          IN  NUMBER   DEFAULT 0,
    P_LIMIT           IN  NUMBER   DEFAULT 100,
    X_ITEMS           OUT item_tbl,
    X_TOTAL_COUNT     OUT NUMBER,
    X_HAS_MORE        OUT VARCHAR2,
    X_RETURN_STATUS   OUT VARCHAR2,
    X_MSG_DATA        OUT VARCHAR2);

  /*#
   * A ledger as GL_LEDGERS holds it: name and ledger (functional) currency, the currency
   * every journal of the ledger is accounted in.
   * @param P_LEDGER_ID ledger id
   * @param X_LEDGER_ID ledger id
   * @param X_NAME ledger name
   * @param X_SHORT_NAME short name
   * @param X_CURRENCY_CODE ledger currency
   * @param X_CHART_OF_ACCOUNTS_ID chart of accounts
   * @param X_PERIOD_SET_NAME accounting calendar
   * @param X_SUSPENSE_ALLOWED_FLAG Y or N
   * @param X_RETURN_STATUS S or E (unknown ledger)
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Ledger
   */
  PROCEDURE get_ledger(
    P_LEDGER_ID               IN  NUMBER,
    X_LEDGER_ID               OUT NUMBER,
    X_NAME                    OUT VARCHAR2,
    X_SHORT_NAME              OUT VARCHAR2,
    X_CURRENCY_CODE           OUT VARCHAR2,
    X_CHART_OF_ACCOUNTS_ID    OUT NUMBER,
    X_PERIOD_SET_NAME         OUT VARCHAR2,
    X_SUSPENSE_ALLOWED_FLAG   OUT VARCHAR2,
    X_RETURN_STATUS           OUT VARCHAR2,
    X_MSG_DATA                OUT VARCHAR2);

  /*#
   * An operating unit (HR_OPERATING_UNITS) by organization id: its name for the review.
   * Columns as commonly documented for the view (inferred, not confirmed by the reference).
   * @param P_ORG_ID operating unit (organization) id
   * @param X_ORGANIZATION_ID the id
   * @param X_NAME operating unit name
   * @param X_SET_OF_BOOKS_ID the ledger it posts to
   * @param X_SHORT_CODE short code
   * @param X_RETURN_STATUS S or E (unknown operating unit)
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Operating Unit
   */
  PROCEDURE get_operating_unit(
    P_ORG_ID                  IN  NUMBER,
    X_ORGANIZATION_ID         OUT NUMBER,
    X_NAME                    OUT VARCHAR2,
    X_SET_OF_BOOKS_ID         OUT NUMBER,
    X_SHORT_CODE              OUT VARCHAR2,
    X_RETURN_STATUS           OUT VARCHAR2,
    X_MSG_DATA                OUT VARCHAR2);

  /*#
   * The daily rate (GL_DAILY_RATES) from one currency to another of a conversion type on a
   * date. No rate is not an error: X_EXISTS = N.
   * @param P_FROM_CURRENCY e.g. GBP
   * @param P_TO_CURRENCY e.g. USD (the ledger currency)
   * @param P_CONVERSION_TYPE user conversion type, e.g. Corporate (not User)
   * @param P_CONVERSION_DATE the accounting date, YYYY-MM-DD
   * @param X_EXISTS Y or N
   * @param X_FROM_CURRENCY from currency
   * @param X_TO_CURRENCY to currency
   * @param X_CONVERSION_TYPE user conversion type
   * @param X_CONVERSION_DATE date
   * @param X_CONVERSION_RATE rate, when it exists
   * @param X_RETURN_STATUS S or E (unknown conversion type)
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Daily Rate
   */
  PROCEDURE get_daily_rate(
    P_FROM_CURRENCY    IN  VARCHAR2,
    P_TO_CURRENCY      IN  VARCHAR2,
    P_CONVERSION_TYPE  IN  VARCHAR2,
    P_CONVERSION_DATE  IN  DATE,
    X_EXISTS           OUT VARCHAR2,
    X_FROM_CURRENCY    OUT VARCHAR2,
    X_TO_CURRENCY      OUT VARCHAR2,
    X_CONVERSION_TYPE  OUT VARCHAR2,
    X_CONVERSION_DATE  OUT DATE,
    X_CONVERSION_RATE  OUT NUMBER,
    X_RETURN_STATUS    OUT VARCHAR2,
    X_MSG_DATA         OUT VARCHAR2);

  /*#
   * Creates a cash receipt with AR_RECEIPT_API_PUB.create_cash in the operating unit of
   * the context. Errors are the API's messages, prefixed by their name, e.g.
   * AR_RW_CASH_DUPLICATE_RECEIPT (number already used for the method), AR_RAPI_GL_DATE_INVALID.
   * @param P_RECEIPT_NUMBER receipt number (the settlement id)
   * @param P_RECEIPT_METHOD receipt method name
   * @param P_AMOUNT receipt amount
   * @param P_CURRENCY_CODE receipt currency
   * @param P_RECEIPT_DATE receipt date (the deposit date)
   * @param P_GL_DATE GL date (default the receipt date)
   * @param P_ORG_ID operating unit (must be the context's)
   * @param P_CUSTOMER_REF customer account number (optional)
   * @param X_CASH_RECEIPT_ID cash receipt id
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Create Cash Receipt
   */
  PROCEDURE create_cash_receipt(
    P_RECEIPT_NUMBER   IN  VARCHAR2,
    P_RECEIPT_METHOD   IN  VARCHAR2,
    P_AMOUNT           IN  NUMBER,
    P_CURRENCY_CODE    IN  VARCHAR2,
    P_RECEIPT_DATE     IN  DATE,
    P_GL_DATE          IN  DATE     DEFAULT NULL,
    P_ORG_ID           IN  NUMBER   DEFAULT NULL,
    P_CUSTOMER_REF     IN  VARCHAR2 DEFAULT NULL,
    X_CASH_RECEIPT_ID  OUT NUMBER,
    X_RETURN_STATUS    OUT VARCHAR2,
    X_MSG_DATA         OUT VARCHAR2);

  /*#
   * Applies a receipt to a transaction with AR_RECEIPT_API_PUB.apply (negative amount on a
   * credit memo). Over the balance due: AR_CKAP_OVERAPP.
   * @param P_RECEIPT_NUMBER receipt number
   * @param P_RECEIPT_METHOD receipt method name
   * @param P_TRX_NUMBER transaction number
   * @param P_AMOUNT_APPLIED amount applied
   * @param P_APPLY_DATE application date
   * @param P_APPLY_GL_DATE GL date of the application (default the application date)
   * @param X_RECEIVABLE_APPLICATION_ID application id
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Apply Receipt
   */
  PROCEDURE apply_receipt(
    P_RECEIPT_NUMBER             IN  VARCHAR2,
    P_RECEIPT_METHOD             IN  VARCHAR2,
    P_TRX_NUMBER                 IN  VARCHAR2,
    P_AMOUNT_APPLIED             IN  NUMBER,
    P_APPLY_DATE                 IN  DATE,
    P_APPLY_GL_DATE              IN  DATE DEFAULT NULL,
    X_RECEIVABLE_APPLICATION_ID  OUT NUMBER,
    X_RETURN_STATUS              OUT VARCHAR2,
    X_MSG_DATA                   OUT VARCHAR2);

  /*#
   * Applies an on-account credit memo to an invoice with
   * AR_CM_APPLICATION_PUB.apply_on_account.
   * @param P_CM_TRX_NUMBER credit memo number
   * @param P_INV_TRX_NUMBER invoice number
   * @param P_AMOUNT_APPLIED amount applied (positive)
   * @param P_APPLY_DATE application date
   * @param P_GL_DATE GL date (default the application date)
   * @param X_RECEIVABLE_APPLICATION_ID application id
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Apply Credit Memo
   */
  PROCEDURE apply_credit_memo(
    P_CM_TRX_NUMBER              IN  VARCHAR2,
    P_INV_TRX_NUMBER             IN  VARCHAR2,
    P_AMOUNT_APPLIED             IN  NUMBER,
    P_APPLY_DATE                 IN  DATE,
    P_GL_DATE                    IN  DATE DEFAULT NULL,
    X_RECEIVABLE_APPLICATION_ID  OUT NUMBER,
    X_RETURN_STATUS              OUT VARCHAR2,
    X_MSG_DATA                   OUT VARCHAR2);

  /*#
   * A cash receipt by number and receipt method with its applications (asked before any
   * write and before any retry). No receipt is not an error: X_EXISTS = N.
   * @param P_RECEIPT_NUMBER receipt number
   * @param P_RECEIPT_METHOD receipt method name
   * @param X_EXISTS Y or N
   * @param X_CASH_RECEIPT_ID cash receipt id
   * @param X_RECEIPT_NUMBER receipt number
   * @param X_RECEIPT_METHOD receipt method name
   * @param X_RECEIPT_METHOD_ID receipt method id
   * @param X_ORG_ID operating unit
   * @param X_AMOUNT receipt amount
   * @param X_CURRENCY_CODE currency
   * @param X_RECEIPT_DATE receipt date
   * @param X_GL_DATE GL date
   * @param X_CUSTOMER_REF customer account number
   * @param X_APPLIED amount applied
   * @param X_UNAPPLIED amount unapplied
   * @param X_APPLICATIONS applications
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Receipt
   */
  PROCEDURE get_receipt(
    P_RECEIPT_NUMBER     IN  VARCHAR2,
    P_RECEIPT_METHOD     IN  VARCHAR2,
    X_EXISTS             OUT VARCHAR2,
    X_CASH_RECEIPT_ID    OUT NUMBER,
    X_RECEIPT_NUMBER     OUT VARCHAR2,
    X_RECEIPT_METHOD     OUT VARCHAR2,
    X_RECEIPT_METHOD_ID  OUT NUMBER,
    X_ORG_ID             OUT NUMBER,
    X_AMOUNT             OUT NUMBER,
    X_CURRENCY_CODE      OUT VARCHAR2,
    X_RECEIPT_DATE       OUT DATE,
    X_GL_DATE            OUT DATE,
    X_CUSTOMER_REF       OUT VARCHAR2,
    X_APPLIED            OUT NUMBER,
    X_UNAPPLIED          OUT NUMBER,
    X_APPLICATIONS       OUT receipt_app_tbl,
    X_RETURN_STATUS      OUT VARCHAR2,
    X_MSG_DATA           OUT VARCHAR2);

  /*#
   * A receipt method of the context's operating unit with its remittance bank account and
   * that account's cash account (the connector checks it is the clearing account).
   * @param P_RECEIPT_METHOD receipt method name
   * @param X_EXISTS Y or N
   * @param X_RECEIPT_METHOD_ID receipt method id
   * @param X_NAME receipt method name
   * @param X_ORG_ID operating unit
   * @param X_BANK_ACCOUNT_ID remittance bank account id
   * @param X_BANK_ACCOUNT_NAME bank account name
   * @param X_BANK_ACCOUNT_NUM bank account number
   * @param X_CURRENCY_CODE bank account currency
   * @param X_CASH_CCID cash account code combination id
   * @param X_CASH_ACCOUNT cash account segments
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Receipt Method
   */
  PROCEDURE get_receipt_method(
    P_RECEIPT_METHOD     IN  VARCHAR2,
    X_EXISTS             OUT VARCHAR2,
    X_RECEIPT_METHOD_ID  OUT NUMBER,
    X_NAME               OUT VARCHAR2,
    X_ORG_ID             OUT NUMBER,
    X_BANK_ACCOUNT_ID    OUT NUMBER,
    X_BANK_ACCOUNT_NAME  OUT VARCHAR2,
    X_BANK_ACCOUNT_NUM   OUT VARCHAR2,
    X_CURRENCY_CODE      OUT VARCHAR2,
    X_CASH_CCID          OUT NUMBER,
    X_CASH_ACCOUNT       OUT VARCHAR2,
    X_RETURN_STATUS      OUT VARCHAR2,
    X_MSG_DATA           OUT VARCHAR2);

  /*#
   * A transaction of the context's operating unit with its balance due and every receipt
   * and credit memo application touching it.
   * @param P_TRX_NUMBER transaction number
   * @param X_EXISTS Y or N
   * @param X_CUSTOMER_TRX_ID transaction id
   * @param X_TRX_NUMBER transaction number
   * @param X_TRX_CLASS INV or CM
   * @param X_CURRENCY_CODE currency
   * @param X_AMOUNT original amount due
   * @param X_BALANCE_DUE amount due remaining
   * @param X_APPLICATIONS applications
   * @param X_RETURN_STATUS S or E
   * @param X_MSG_DATA error text when E
   * @rep:scope public
   * @rep:lifecycle active
   * @rep:displayname Get Transaction
   */
  PROCEDURE get_transaction(
    P_TRX_NUMBER       IN  VARCHAR2,
    X_EXISTS           OUT VARCHAR2,
    X_CUSTOMER_TRX_ID  OUT NUMBER,
    X_TRX_NUMBER       OUT VARCHAR2,
    X_TRX_CLASS        OUT VARCHAR2,
    X_CURRENCY_CODE    OUT VARCHAR2,
    X_AMOUNT           OUT NUMBER,
    X_BALANCE_DUE      OUT NUMBER,
    X_APPLICATIONS     OUT trx_app_tbl,
    X_RETURN_STATUS    OUT VARCHAR2,
    X_MSG_DATA         OUT VARCHAR2);

END XXMLC_INTEGRATION_PKG;
/
COMMIT;
EXIT;
