/* $Header: xxmlc_connector.pkb 120.0 2026/11/26 00:00:00 mlconnector noship $ */
SET VERIFY OFF
WHENEVER SQLERROR EXIT FAILURE ROLLBACK;

CREATE OR REPLACE PACKAGE BODY XXMLC_INTEGRATION_PKG AS

  -- Fills the journals of a set of header ids (with all their lines).
  PROCEDURE load_journals(p_header_ids IN SYS.ODCINUMBERLIST, x_journals OUT journal_tbl) IS
    i PLS_INTEGER := 0;
    j PLS_INTEGER;
  BEGIN
    FOR h IN (
      SELECT b.je_batch_id, b.name batch_name, b.status batch_status, b.group_id,
             b.request_id, h.je_header_id, h.name journal_name, h.ledger_id,
             h.period_name, h.currency_code, s.user_je_source_name,
             c.user_je_category_name, h.status, h.external_reference,
             h.running_total_dr, h.running_total_cr,
             h.running_total_accounted_dr, h.running_total_accounted_cr
        FROM gl_je_headers h
        JOIN gl_je_batches b ON b.je_batch_id = h.je_batch_id
        JOIN gl_je_sources s ON s.je_source_name = h.je_source
        JOIN gl_je_categories c ON c.je_category_name = h.je_category
       WHERE h.je_header_id IN (SELECT column_value FROM TABLE(p_header_ids))
       ORDER BY h.je_header_id)
    LOOP
      i := i + 1;
      x_journals(i).JE_BATCH_ID := h.je_batch_id;
      x_journals(i).BATCH_NAME := h.batch_name;
      x_journals(i).BATCH_STATUS := h.batch_status;
      x_journals(i).JE_HEADER_ID := h.je_header_id;
      x_journals(i).JOURNAL_NAME := h.journal_name;
      x_journals(i).LEDGER_ID := h.ledger_id;
      x_journals(i).PERIOD_NAME := h.period_name;
      x_journals(i).CURRENCY_CODE := h.currency_code;
      x_journals(i).USER_JE_SOURCE_NAME := h.user_je_source_name;
      x_journals(i).USER_JE_CATEGORY_NAME := h.user_je_category_name;
      x_journals(i).STATUS := h.status;
      x_journals(i).GROUP_ID := h.group_id;
      x_journals(i).REQUEST_ID := h.request_id;
      x_journals(i).EXTERNAL_REFERENCE := h.external_reference;
      x_journals(i).RUNNING_TOTAL_DR := h.running_total_dr;
      x_journals(i).RUNNING_TOTAL_CR := h.running_total_cr;
      x_journals(i).RUNNING_TOTAL_ACCOUNTED_DR := h.running_total_accounted_dr;
      x_journals(i).RUNNING_TOTAL_ACCOUNTED_CR := h.running_total_accounted_cr;
      j := 0;
      FOR l IN (
        SELECT l.je_line_num, l.code_combination_id, k.concatenated_segments,
               l.entered_dr, l.entered_cr, l.accounted_dr, l.accounted_cr, l.description,
               l.reference_1, l.reference_2, l.reference_3, l.reference_4, l.reference_5,
               l.reference_6, l.reference_7, l.reference_8, l.reference_9, l.reference_10
          FROM gl_je_lines l
          JOIN gl_code_combinations_kfv k ON k.code_combination_id = l.code_combination_id
         WHERE l.je_header_id = h.je_header_id
         ORDER BY l.je_line_num)
      LOOP
        j := j + 1;
        x_journals(i).LINES(j).JE_LINE_NUM := l.je_line_num;
        x_journals(i).LINES(j).CODE_COMBINATION_ID := l.code_combination_id;
        x_journals(i).LINES(j).ACCOUNT := l.concatenated_segments;
        x_journals(i).LINES(j).ENTERED_DR := l.entered_dr;
        x_journals(i).LINES(j).ENTERED_CR := l.entered_cr;
        x_journals(i).LINES(j).ACCOUNTED_DR := l.accounted_dr;
        x_journals(i).LINES(j).ACCOUNTED_CR := l.accounted_cr;
        x_journals(i).LINES(j).DESCRIPTION := l.description;
        x_journals(i).LINES(j).REFERENCE_1 := l.reference_1;
        x_journals(i).LINES(j).REFERENCE_2 := l.reference_2;
        x_journals(i).LINES(j).REFERENCE_3 := l.reference_3;
        x_journals(i).LINES(j).REFERENCE_4 := l.reference_4;
        x_journals(i).LINES(j).REFERENCE_5 := l.reference_5;
        x_journals(i).LINES(j).REFERENCE_6 := l.reference_6;
        x_journals(i).LINES(j).REFERENCE_7 := l.reference_7;
        x_journals(i).LINES(j).REFERENCE_8 := l.reference_8;
        x_journals(i).LINES(j).REFERENCE_9 := l.reference_9;
        x_journals(i).LINES(j).REFERENCE_10 := l.reference_10;
      END LOOP;
    END LOOP;
  END load_journals;

  PROCEDURE populate_interface_control(
    P_USER_JE_SOURCE_NAME    IN  VARCHAR2,
    P_LEDGER_ID              IN  NUMBER,
    P_GROUP_ID               IN  NUMBER   DEFAULT NULL,
    P_PROCESSED_DATA_ACTION  IN  VARCHAR2 DEFAULT NULL,
    X_GROUP_ID               OUT NUMBER,
    X_INTERFACE_RUN_ID       OUT NUMBER,
    X_RETURN_STATUS          OUT VARCHAR2,
    X_MSG_DATA               OUT VARCHAR2) IS
    l_group_id NUMBER := P_GROUP_ID;
    l_run_id   NUMBER := NULL;
    l_action   VARCHAR2(30);
  BEGIN
    IF NVL(P_PROCESSED_DATA_ACTION, 'DELETE_DATA') = 'SAVE_DATA' THEN
      l_action := gl_journal_import_pkg.save_data;
    ELSE
      l_action := gl_journal_import_pkg.delete_data;
    END IF;
    gl_journal_import_pkg.populate_interface_control(
      user_je_source_name   => P_USER_JE_SOURCE_NAME,
      group_id              => l_group_id,
      set_of_books_id       => P_LEDGER_ID,
      interface_run_id      => l_run_id,
      table_name            => NULL,
      processed_data_action => l_action);
    COMMIT;
    X_GROUP_ID := l_group_id;
    X_INTERFACE_RUN_ID := l_run_id;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      ROLLBACK;
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(NVL(fnd_message.get, SQLERRM), 1, 2000);
  END populate_interface_control;

  PROCEDURE get_journals_by_group(
    P_GROUP_ID       IN  NUMBER,
    P_LEDGER_ID      IN  NUMBER DEFAULT NULL,
    X_JOURNALS       OUT journal_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2) IS
    l_ids SYS.ODCINUMBERLIST;
  BEGIN
    SELECT h.je_header_id BULK COLLECT INTO l_ids
      FROM gl_je_headers h
      JOIN gl_je_batches b ON b.je_batch_id = h.je_batch_id
     WHERE b.group_id = P_GROUP_ID
       AND (P_LEDGER_ID IS NULL OR h.ledger_id = P_LEDGER_ID);
    load_journals(l_ids, X_JOURNALS);
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_journals_by_group;

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
    X_MSG_DATA            OUT VARCHAR2) IS
    l_ids SYS.ODCINUMBERLIST;
  BEGIN
    IF COALESCE(P_REFERENCE_1, P_REFERENCE_2, P_REFERENCE_3, P_REFERENCE_4, P_REFERENCE_5) IS NULL THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'At least one of P_REFERENCE_1..5 is required';
      RETURN;
    END IF;
    SELECT DISTINCT h.je_header_id BULK COLLECT INTO l_ids
      FROM gl_je_lines l
      JOIN gl_je_headers h ON h.je_header_id = l.je_header_id
      JOIN gl_je_sources s ON s.je_source_name = h.je_source
     WHERE (P_REFERENCE_1 IS NULL OR l.reference_1 = P_REFERENCE_1)
       AND (P_REFERENCE_2 IS NULL OR l.reference_2 = P_REFERENCE_2)
       AND (P_REFERENCE_3 IS NULL OR l.reference_3 = P_REFERENCE_3)
       AND (P_REFERENCE_4 IS NULL OR l.reference_4 = P_REFERENCE_4)
       AND (P_REFERENCE_5 IS NULL OR l.reference_5 = P_REFERENCE_5)
       AND (P_LEDGER_ID IS NULL OR h.ledger_id = P_LEDGER_ID)
       AND (P_USER_JE_SOURCE_NAME IS NULL OR s.user_je_source_name = P_USER_JE_SOURCE_NAME);
    load_journals(l_ids, X_JOURNALS);
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_journals_by_reference;

  PROCEDURE get_transactions_by_request(
    P_REQUEST_ID     IN  NUMBER,
    X_TRANSACTIONS   OUT trx_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2) IS
    i PLS_INTEGER := 0;
    j PLS_INTEGER;
  BEGIN
    FOR t IN (
      SELECT t.customer_trx_id, t.trx_number, t.trx_date, gd.gl_date, tt.name type_name,
             tt.type trx_class, ca.orig_system_reference bill_ref, t.invoice_currency_code,
             t.org_id, t.request_id, bs.name batch_source_name, rt.name term_name,
             (SELECT SUM(extended_amount) FROM ra_customer_trx_lines_all x
               WHERE x.customer_trx_id = t.customer_trx_id) amount
        FROM ra_customer_trx_all t
        JOIN ra_cust_trx_types_all tt ON tt.cust_trx_type_id = t.cust_trx_type_id AND tt.org_id = t.org_id
        JOIN ra_batch_sources_all bs ON bs.batch_source_id = t.batch_source_id AND bs.org_id = t.org_id
        LEFT JOIN hz_cust_accounts ca ON ca.cust_account_id = t.bill_to_customer_id
        LEFT JOIN ra_terms rt ON rt.term_id = t.term_id
        LEFT JOIN ra_cust_trx_line_gl_dist_all gd
               ON gd.customer_trx_id = t.customer_trx_id AND gd.account_class = 'REC' AND gd.latest_rec_flag = 'Y'
       WHERE t.request_id = P_REQUEST_ID
          OR t.request_id IN (SELECT request_id FROM fnd_concurrent_requests
                               WHERE parent_request_id = P_REQUEST_ID)
       ORDER BY t.customer_trx_id)
    LOOP
      i := i + 1;
      X_TRANSACTIONS(i).CUSTOMER_TRX_ID := t.customer_trx_id;
      X_TRANSACTIONS(i).TRX_NUMBER := t.trx_number;
      X_TRANSACTIONS(i).TRX_DATE := t.trx_date;
      X_TRANSACTIONS(i).GL_DATE := t.gl_date;
      X_TRANSACTIONS(i).CUST_TRX_TYPE_NAME := t.type_name;
      X_TRANSACTIONS(i).TRX_CLASS := t.trx_class;
      X_TRANSACTIONS(i).BILL_TO_CUSTOMER_REF := t.bill_ref;
      X_TRANSACTIONS(i).CURRENCY_CODE := t.invoice_currency_code;
      X_TRANSACTIONS(i).ORG_ID := t.org_id;
      X_TRANSACTIONS(i).REQUEST_ID := t.request_id;
      X_TRANSACTIONS(i).BATCH_SOURCE_NAME := t.batch_source_name;
      X_TRANSACTIONS(i).TERM_NAME := t.term_name;
      X_TRANSACTIONS(i).AMOUNT := t.amount;
      j := 0;
      FOR l IN (SELECT * FROM ra_customer_trx_lines_all
                 WHERE customer_trx_id = t.customer_trx_id ORDER BY line_number)
      LOOP
        j := j + 1;
        X_TRANSACTIONS(i).LINES(j).CUSTOMER_TRX_LINE_ID := l.customer_trx_line_id;
        X_TRANSACTIONS(i).LINES(j).LINE_NUMBER := l.line_number;
        X_TRANSACTIONS(i).LINES(j).LINE_TYPE := l.line_type;
        X_TRANSACTIONS(i).LINES(j).DESCRIPTION := l.description;
        X_TRANSACTIONS(i).LINES(j).QUANTITY := NVL(l.quantity_invoiced, l.quantity_credited);
        X_TRANSACTIONS(i).LINES(j).UNIT_SELLING_PRICE := l.unit_selling_price;
        X_TRANSACTIONS(i).LINES(j).AMOUNT := l.extended_amount;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_CONTEXT := l.interface_line_context;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE1 := l.interface_line_attribute1;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE2 := l.interface_line_attribute2;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE3 := l.interface_line_attribute3;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE4 := l.interface_line_attribute4;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE5 := l.interface_line_attribute5;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE6 := l.interface_line_attribute6;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE7 := l.interface_line_attribute7;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE8 := l.interface_line_attribute8;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE9 := l.interface_line_attribute9;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE10 := l.interface_line_attribute10;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE11 := l.interface_line_attribute11;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE12 := l.interface_line_attribute12;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE13 := l.interface_line_attribute13;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE14 := l.interface_line_attribute14;
        X_TRANSACTIONS(i).LINES(j).INTERFACE_LINE_ATTRIBUTE15 := l.interface_line_attribute15;
      END LOOP;
    END LOOP;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_transactions_by_request;

  PROCEDURE get_child_requests(
    P_REQUEST_ID     IN  NUMBER,
    X_REQUESTS       OUT request_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2) IS
    i PLS_INTEGER := 0;
  BEGIN
    FOR r IN (
      SELECT r.request_id, p.concurrent_program_name, r.phase_code, r.status_code,
             r.completion_text, r.parent_request_id,
             DECODE(r.phase_code, 'P', 'PENDING', 'R', 'RUNNING', 'C', 'COMPLETE', 'I', 'INACTIVE') dev_phase,
             DECODE(r.status_code, 'C', 'NORMAL', 'E', 'ERROR', 'G', 'WARNING', 'D', 'CANCELLED',
                    'X', 'TERMINATED', 'Q', 'STANDBY', 'I', 'NORMAL', 'R', 'NORMAL', 'A', 'WAITING',
                    'F', 'SCHEDULED', 'H', 'ON_HOLD', 'M', 'NO_MANAGER', 'W', 'PAUSED',
                    'B', 'RESUMING', 'T', 'TERMINATING', 'S', 'SUSPENDED', 'U', 'DISABLED', r.status_code) dev_status
        FROM fnd_concurrent_requests r
        JOIN fnd_concurrent_programs p
          ON p.concurrent_program_id = r.concurrent_program_id
         AND p.application_id = r.program_application_id
       WHERE r.parent_request_id = P_REQUEST_ID
       ORDER BY r.request_id)
    LOOP
      i := i + 1;
      X_REQUESTS(i).REQUEST_ID := r.request_id;
      X_REQUESTS(i).PROGRAM := r.concurrent_program_name;
      X_REQUESTS(i).PHASE_CODE := r.phase_code;
      X_REQUESTS(i).STATUS_CODE := r.status_code;
      X_REQUESTS(i).DEV_PHASE := r.dev_phase;
      X_REQUESTS(i).DEV_STATUS := r.dev_status;
      X_REQUESTS(i).COMPLETION_TEXT := r.completion_text;
      X_REQUESTS(i).PARENT_REQUEST_ID := r.parent_request_id;
    END LOOP;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_child_requests;

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
    X_MSG_DATA                OUT VARCHAR2) IS
    l_id   NUMBER := P_REQUEST_ID;
    l_ok   BOOLEAN;
    l_msg  VARCHAR2(2000);
  BEGIN
    l_ok := fnd_concurrent.get_request_status(
              request_id => l_id, application => NULL, program => NULL,
              phase => X_PHASE, status => X_STATUS, dev_phase => X_DEV_PHASE,
              dev_status => X_DEV_STATUS, message => X_MESSAGE);
    IF NOT l_ok THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'Unknown request ' || P_REQUEST_ID;
      RETURN;
    END IF;
    SELECT r.request_id, p.concurrent_program_name, r.phase_code, r.status_code,
           r.parent_request_id, r.request_date, r.actual_start_date, r.actual_completion_date
      INTO X_REQUEST_ID, X_PROGRAM, X_PHASE_CODE, X_STATUS_CODE,
           X_PARENT_REQUEST_ID, X_REQUEST_DATE, X_ACTUAL_START_DATE, X_ACTUAL_COMPLETION_DATE
      FROM fnd_concurrent_requests r
      JOIN fnd_concurrent_programs p
        ON p.concurrent_program_id = r.concurrent_program_id
       AND p.application_id = r.program_application_id
     WHERE r.request_id = P_REQUEST_ID;
    get_child_requests(P_REQUEST_ID, X_CHILDREN, X_RETURN_STATUS, l_msg);
    X_MSG_DATA := l_msg;
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'Unknown request ' || P_REQUEST_ID;
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_request_status;

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
    X_MSG_DATA                     OUT VARCHAR2) IS
    l_coa NUMBER;
  BEGIN
    SELECT chart_of_accounts_id INTO l_coa FROM gl_ledgers WHERE ledger_id = P_LEDGER_ID;
    BEGIN
      SELECT code_combination_id, concatenated_segments, enabled_flag,
             detail_posting_allowed_flag, start_date_active, end_date_active
        INTO X_CODE_COMBINATION_ID, X_CONCATENATED_SEGMENTS, X_ENABLED_FLAG,
             X_DETAIL_POSTING_ALLOWED_FLAG, X_START_DATE_ACTIVE, X_END_DATE_ACTIVE
        FROM gl_code_combinations_kfv
       WHERE chart_of_accounts_id = l_coa
         AND ((P_CODE_COMBINATION_ID IS NOT NULL AND code_combination_id = P_CODE_COMBINATION_ID)
           OR (P_CODE_COMBINATION_ID IS NULL AND concatenated_segments = P_CONCATENATED_SEGMENTS))
         AND summary_flag = 'N';
      X_EXISTS := 'Y';
    EXCEPTION
      WHEN NO_DATA_FOUND THEN
        X_EXISTS := 'N';
        X_VALID := 'N';
        X_VALIDATION_MESSAGE := 'No such account combination (dynamic insertion is not attempted)';
        X_RETURN_STATUS := 'S';
        RETURN;
    END;
    IF X_ENABLED_FLAG <> 'Y' THEN
      X_VALID := 'N'; X_VALIDATION_MESSAGE := 'Account is disabled';
    ELSIF X_DETAIL_POSTING_ALLOWED_FLAG <> 'Y' THEN
      X_VALID := 'N'; X_VALIDATION_MESSAGE := 'Detail posting not allowed';
    ELSIF TRUNC(SYSDATE) NOT BETWEEN NVL(X_START_DATE_ACTIVE, TRUNC(SYSDATE))
                                 AND NVL(X_END_DATE_ACTIVE, TRUNC(SYSDATE)) THEN
      X_VALID := 'N'; X_VALIDATION_MESSAGE := 'Account is not active today';
    ELSE
      X_VALID := 'Y';
    END IF;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'Unknown ledger ' || P_LEDGER_ID;
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_account;

  PROCEDURE get_open_periods(
    P_LEDGER_ID      IN  NUMBER,
    P_APPLICATION    IN  VARCHAR2 DEFAULT 'SQLGL',
    X_PERIODS        OUT period_tbl,
    X_RETURN_STATUS  OUT VARCHAR2,
    X_MSG_DATA       OUT VARCHAR2) IS
    i PLS_INTEGER := 0;
  BEGIN
    FOR p IN (
      SELECT ps.period_name, ps.start_date, ps.end_date, ps.closing_status,
             ps.period_year, ps.period_num
        FROM gl_period_statuses ps
        JOIN fnd_application a ON a.application_id = ps.application_id
       WHERE ps.ledger_id = P_LEDGER_ID
         AND a.application_short_name = NVL(P_APPLICATION, 'SQLGL')
         AND ps.closing_status IN ('O', 'F')
         AND ps.adjustment_period_flag = 'N'
       ORDER BY ps.start_date)
    LOOP
      i := i + 1;
      X_PERIODS(i).PERIOD_NAME := p.period_name;
      X_PERIODS(i).START_DATE := p.start_date;
      X_PERIODS(i).END_DATE := p.end_date;
      X_PERIODS(i).CLOSING_STATUS := p.closing_status;
      X_PERIODS(i).PERIOD_YEAR := p.period_year;
      X_PERIODS(i).PERIOD_NUM := p.period_num;
    END LOOP;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_open_periods;

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
    X_MSG_DATA        OUT VARCHAR2) IS
    l_limit NUMBER := LEAST(NVL(P_LIMIT, 100), 1000);
    i PLS_INTEGER := 0;
  BEGIN
    SELECT COUNT(*) INTO X_TOTAL_COUNT
      FROM mtl_system_items_b
     WHERE organization_id = P_ORGANIZATION_ID
       AND (P_UPDATED_SINCE IS NULL OR last_update_date >= P_UPDATED_SINCE);
    FOR it IN (
      SELECT msi.inventory_item_id, msi.organization_id, msi.segment1, msi.description,
             msi.primary_uom_code, msi.inventory_item_status_code, msi.last_update_date,
             qh.name price_list, qh.currency_code,
             (SELECT MAX(ql.operand) FROM qp_list_lines ql
                JOIN qp_pricing_attributes pa ON pa.list_line_id = ql.list_line_id
               WHERE ql.list_header_id = qh.list_header_id
                 AND pa.product_attribute_context = 'ITEM'
                 AND pa.product_attr_value = TO_CHAR(msi.inventory_item_id)) list_price,
             (SELECT NVL(SUM(moq.primary_transaction_quantity), 0)
                FROM mtl_onhand_quantities_detail moq
               WHERE moq.inventory_item_id = msi.inventory_item_id
                 AND moq.organization_id = msi.organization_id) on_hand
        FROM mtl_system_items_b msi
        LEFT JOIN qp_list_headers qh ON qh.name = P_PRICE_LIST
       WHERE msi.organization_id = P_ORGANIZATION_ID
         AND (P_UPDATED_SINCE IS NULL OR msi.last_update_date >= P_UPDATED_SINCE)
       ORDER BY msi.segment1
      OFFSET NVL(P_OFFSET, 0) ROWS FETCH NEXT l_limit ROWS ONLY)
    LOOP
      i := i + 1;
      X_ITEMS(i).INVENTORY_ITEM_ID := it.inventory_item_id;
      X_ITEMS(i).ORGANIZATION_ID := it.organization_id;
      X_ITEMS(i).SEGMENT1 := it.segment1;
      X_ITEMS(i).DESCRIPTION := it.description;
      X_ITEMS(i).PRIMARY_UOM_CODE := it.primary_uom_code;
      X_ITEMS(i).INVENTORY_ITEM_STATUS_CODE := it.inventory_item_status_code;
      X_ITEMS(i).PRICE_LIST := it.price_list;
      X_ITEMS(i).LIST_PRICE := it.list_price;
      X_ITEMS(i).CURRENCY_CODE := it.currency_code;
      X_ITEMS(i).AVAILABLE_QUANTITY := it.on_hand;
      X_ITEMS(i).LAST_UPDATE_DATE := it.last_update_date;
    END LOOP;
    X_HAS_MORE := CASE WHEN NVL(P_OFFSET, 0) + i < X_TOTAL_COUNT THEN 'Y' ELSE 'N' END;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_items;

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
    X_MSG_DATA                OUT VARCHAR2) IS
  BEGIN
    SELECT l.ledger_id, l.name, l.short_name, l.currency_code, l.chart_of_accounts_id,
           l.period_set_name, NVL(l.suspense_allowed_flag, 'N')
      INTO X_LEDGER_ID, X_NAME, X_SHORT_NAME, X_CURRENCY_CODE, X_CHART_OF_ACCOUNTS_ID,
           X_PERIOD_SET_NAME, X_SUSPENSE_ALLOWED_FLAG
      FROM gl_ledgers l
     WHERE l.ledger_id = P_LEDGER_ID;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'Invalid ledger id ' || P_LEDGER_ID;
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_ledger;

  -- HR_OPERATING_UNITS columns (organization_id, name, set_of_books_id, short_code) are
  -- inferred from the standard view; check them on the instance before deploying.
  PROCEDURE get_operating_unit(
    P_ORG_ID                  IN  NUMBER,
    X_ORGANIZATION_ID         OUT NUMBER,
    X_NAME                    OUT VARCHAR2,
    X_SET_OF_BOOKS_ID         OUT NUMBER,
    X_SHORT_CODE              OUT VARCHAR2,
    X_RETURN_STATUS           OUT VARCHAR2,
    X_MSG_DATA                OUT VARCHAR2) IS
  BEGIN
    SELECT o.organization_id, o.name, TO_NUMBER(o.set_of_books_id), o.short_code
      INTO X_ORGANIZATION_ID, X_NAME, X_SET_OF_BOOKS_ID, X_SHORT_CODE
      FROM hr_operating_units o
     WHERE o.organization_id = P_ORG_ID;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'Invalid operating unit ' || P_ORG_ID;
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_operating_unit;

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
    X_MSG_DATA         OUT VARCHAR2) IS
    l_type gl_daily_conversion_types.conversion_type%TYPE;
  BEGIN
    X_FROM_CURRENCY := UPPER(P_FROM_CURRENCY);
    X_TO_CURRENCY := UPPER(P_TO_CURRENCY);
    X_CONVERSION_TYPE := P_CONVERSION_TYPE;
    X_CONVERSION_DATE := TRUNC(P_CONVERSION_DATE);
    -- The user name (Corporate) to the internal type GL_DAILY_RATES is keyed by.
    BEGIN
      SELECT conversion_type INTO l_type
        FROM gl_daily_conversion_types
       WHERE UPPER(user_conversion_type) = UPPER(P_CONVERSION_TYPE)
         AND conversion_type <> 'User';
    EXCEPTION
      WHEN NO_DATA_FOUND THEN
        X_RETURN_STATUS := 'E';
        X_MSG_DATA := 'Invalid conversion type ' || P_CONVERSION_TYPE;
        RETURN;
    END;
    IF X_FROM_CURRENCY = X_TO_CURRENCY THEN
      X_EXISTS := 'Y';
      X_CONVERSION_RATE := 1;
    ELSE
      BEGIN
        SELECT conversion_rate INTO X_CONVERSION_RATE
          FROM gl_daily_rates
         WHERE from_currency = X_FROM_CURRENCY
           AND to_currency = X_TO_CURRENCY
           AND conversion_type = l_type
           AND conversion_date = X_CONVERSION_DATE;
        X_EXISTS := 'Y';
      EXCEPTION
        WHEN NO_DATA_FOUND THEN
          X_EXISTS := 'N';
          X_CONVERSION_RATE := NULL;
      END;
    END IF;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_daily_rate;

  -- ---------------------------------------------------------------------------------------
  -- AR cash receipts. Signatures of AR_RECEIPT_API_PUB / AR_CM_APPLICATION_PUB follow the
  -- Oracle Receivables Reference Guide ("Receipt API User Notes", "Credit Memo Application
  -- API User Notes"); named notation only, so unused defaulted parameters stay out.
  -- INFERRED (verify on the instance): the message names this package returns for a number
  -- already used (AR_RW_CASH_DUPLICATE_RECEIPT) and for a closed period
  -- (AR_RAPI_GL_DATE_INVALID) come from its own pre-checks, not from the API.
  -- ---------------------------------------------------------------------------------------

  -- "NAME: text; NAME: text" of the API's message stack.
  FUNCTION api_messages(p_count IN NUMBER) RETURN VARCHAR2 IS
    l_out  VARCHAR2(4000);
    l_enc  VARCHAR2(4000);
    l_app  VARCHAR2(50);
    l_name VARCHAR2(30);
  BEGIN
    FOR i IN 1 .. NVL(p_count, 0) LOOP
      l_enc := FND_MSG_PUB.get(p_msg_index => i, p_encoded => FND_API.G_TRUE);
      FND_MESSAGE.parse_encoded(l_enc, l_app, l_name);
      FND_MESSAGE.set_encoded(l_enc);
      l_out := SUBSTR(l_out || CASE WHEN l_out IS NOT NULL THEN '; ' END
                      || l_name || ': ' || FND_MESSAGE.get, 1, 4000);
    END LOOP;
    RETURN NVL(l_out, 'no message');
  END api_messages;

  FUNCTION ctx_org RETURN NUMBER IS
  BEGIN
    RETURN NVL(MO_GLOBAL.get_current_org_id, FND_PROFILE.value('ORG_ID'));
  END ctx_org;

  -- GL date in an open (O) or future-enterable (F) AR period of the org's ledger.
  FUNCTION ar_period_open(p_org_id IN NUMBER, p_date IN DATE) RETURN BOOLEAN IS
    l_n NUMBER;
  BEGIN
    SELECT COUNT(*) INTO l_n
      FROM gl_period_statuses ps
      JOIN hr_operating_units ou ON ou.set_of_books_id = ps.set_of_books_id
     WHERE ou.organization_id = p_org_id
       AND ps.application_id = 222
       AND ps.adjustment_period_flag = 'N'
       AND ps.closing_status IN ('O', 'F')
       AND TRUNC(p_date) BETWEEN ps.start_date AND ps.end_date;
    RETURN l_n > 0;
  END ar_period_open;

  FUNCTION method_id(p_name IN VARCHAR2, p_org_id IN NUMBER) RETURN NUMBER IS
    l_id NUMBER;
  BEGIN
    SELECT rm.receipt_method_id INTO l_id
      FROM ar_receipt_methods rm
     WHERE UPPER(rm.name) = UPPER(p_name)
       AND TRUNC(SYSDATE) BETWEEN rm.start_date AND NVL(rm.end_date, TRUNC(SYSDATE))
       AND EXISTS (SELECT 1 FROM ar_receipt_method_accounts_all rma
                    WHERE rma.receipt_method_id = rm.receipt_method_id
                      AND rma.org_id = p_org_id)
       AND ROWNUM = 1;
    RETURN l_id;
  EXCEPTION
    WHEN NO_DATA_FOUND THEN RETURN NULL;
  END method_id;

  FUNCTION receipt_id(p_number IN VARCHAR2, p_method_id IN NUMBER, p_org_id IN NUMBER)
    RETURN NUMBER IS
    l_id NUMBER;
  BEGIN
    SELECT cr.cash_receipt_id INTO l_id
      FROM ar_cash_receipts_all cr
     WHERE cr.receipt_number = p_number
       AND cr.receipt_method_id = p_method_id
       AND cr.org_id = p_org_id
       AND cr.reversal_date IS NULL
       AND ROWNUM = 1;
    RETURN l_id;
  EXCEPTION
    WHEN NO_DATA_FOUND THEN RETURN NULL;
  END receipt_id;

  FUNCTION trx_id(p_number IN VARCHAR2, p_org_id IN NUMBER) RETURN NUMBER IS
    l_id NUMBER;
  BEGIN
    SELECT t.customer_trx_id INTO l_id
      FROM ra_customer_trx_all t
     WHERE t.trx_number = p_number AND t.org_id = p_org_id AND ROWNUM = 1;
    RETURN l_id;
  EXCEPTION
    WHEN NO_DATA_FOUND THEN RETURN NULL;
  END trx_id;

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
    X_MSG_DATA         OUT VARCHAR2) IS
    l_org       NUMBER := NVL(P_ORG_ID, ctx_org);
    l_method    NUMBER;
    l_customer  NUMBER;
    l_count     NUMBER;
  BEGIN
    IF P_ORG_ID IS NOT NULL AND P_ORG_ID <> ctx_org THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'P_ORG_ID ' || P_ORG_ID || ' differs from the context operating unit';
      RETURN;
    END IF;
    l_method := method_id(P_RECEIPT_METHOD, l_org);
    IF l_method IS NULL THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_INVAL_RECEIPT_MTH_ID: The receipt method that you selected is invalid';
      RETURN;
    END IF;
    IF receipt_id(P_RECEIPT_NUMBER, l_method, l_org) IS NOT NULL THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_RW_CASH_DUPLICATE_RECEIPT: A receipt with number ' || P_RECEIPT_NUMBER
                    || ' already exists for receipt method ' || P_RECEIPT_METHOD;
      RETURN;
    END IF;
    IF NOT ar_period_open(l_org, NVL(P_GL_DATE, P_RECEIPT_DATE)) THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_RAPI_GL_DATE_INVALID: The derived GL date of the receipt is not in '
                    || 'open or future enterable period';
      RETURN;
    END IF;
    IF P_CUSTOMER_REF IS NOT NULL THEN
      BEGIN
        SELECT ca.cust_account_id INTO l_customer
          FROM hz_cust_accounts ca
         WHERE ca.account_number = P_CUSTOMER_REF;
      EXCEPTION
        WHEN NO_DATA_FOUND THEN
          X_RETURN_STATUS := 'E';
          X_MSG_DATA := 'AR_RAPI_CUST_REF_INVALID: Invalid customer reference ' || P_CUSTOMER_REF;
          RETURN;
      END;
    END IF;
    AR_RECEIPT_API_PUB.create_cash(
      p_api_version        => 1.0,
      p_init_msg_list      => FND_API.G_TRUE,
      p_commit             => FND_API.G_FALSE,
      p_validation_level   => FND_API.G_VALID_LEVEL_FULL,
      x_return_status      => X_RETURN_STATUS,
      x_msg_count          => l_count,
      x_msg_data           => X_MSG_DATA,
      p_currency_code      => P_CURRENCY_CODE,
      p_amount             => P_AMOUNT,
      p_receipt_number     => P_RECEIPT_NUMBER,
      p_receipt_date       => TRUNC(P_RECEIPT_DATE),
      p_gl_date            => TRUNC(NVL(P_GL_DATE, P_RECEIPT_DATE)),
      p_customer_id        => l_customer,
      p_receipt_method_id  => l_method,
      p_org_id             => l_org,
      p_cr_id              => X_CASH_RECEIPT_ID);
    IF X_RETURN_STATUS = 'S' THEN
      COMMIT;
    ELSE
      ROLLBACK;
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := api_messages(l_count);
    END IF;
  EXCEPTION
    WHEN OTHERS THEN
      ROLLBACK;
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END create_cash_receipt;

  PROCEDURE apply_receipt(
    P_RECEIPT_NUMBER             IN  VARCHAR2,
    P_RECEIPT_METHOD             IN  VARCHAR2,
    P_TRX_NUMBER                 IN  VARCHAR2,
    P_AMOUNT_APPLIED             IN  NUMBER,
    P_APPLY_DATE                 IN  DATE,
    P_APPLY_GL_DATE              IN  DATE DEFAULT NULL,
    X_RECEIVABLE_APPLICATION_ID  OUT NUMBER,
    X_RETURN_STATUS              OUT VARCHAR2,
    X_MSG_DATA                   OUT VARCHAR2) IS
    l_org     NUMBER := ctx_org;
    l_method  NUMBER := method_id(P_RECEIPT_METHOD, ctx_org);
    l_cr      NUMBER;
    l_trx     NUMBER;
    l_count   NUMBER;
  BEGIN
    l_cr := receipt_id(P_RECEIPT_NUMBER, l_method, l_org);
    IF l_cr IS NULL THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_RAPI_RCPT_NUM_INVALID: Invalid receipt number ' || P_RECEIPT_NUMBER;
      RETURN;
    END IF;
    l_trx := trx_id(P_TRX_NUMBER, l_org);
    IF l_trx IS NULL THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_RAPI_TRX_NUM_INVALID: Invalid transaction number ' || P_TRX_NUMBER;
      RETURN;
    END IF;
    IF NOT ar_period_open(l_org, NVL(P_APPLY_GL_DATE, P_APPLY_DATE)) THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_RAPI_GL_DATE_INVALID: The GL date of the application is not in an '
                    || 'open or future enterable period';
      RETURN;
    END IF;
    AR_RECEIPT_API_PUB.apply(
      p_api_version       => 1.0,
      p_init_msg_list     => FND_API.G_TRUE,
      p_commit            => FND_API.G_FALSE,
      p_validation_level  => FND_API.G_VALID_LEVEL_FULL,
      x_return_status     => X_RETURN_STATUS,
      x_msg_count         => l_count,
      x_msg_data          => X_MSG_DATA,
      p_cash_receipt_id   => l_cr,
      p_customer_trx_id   => l_trx,
      p_amount_applied    => P_AMOUNT_APPLIED,
      p_apply_date        => TRUNC(P_APPLY_DATE),
      p_apply_gl_date     => TRUNC(NVL(P_APPLY_GL_DATE, P_APPLY_DATE)),
      p_org_id            => l_org);
    IF X_RETURN_STATUS = 'S' THEN
      -- INFERRED: apply has no application id OUT parameter on every release; read it back.
      SELECT MAX(ra.receivable_application_id) INTO X_RECEIVABLE_APPLICATION_ID
        FROM ar_receivable_applications_all ra
       WHERE ra.cash_receipt_id = l_cr
         AND ra.applied_customer_trx_id = l_trx
         AND ra.status = 'APP'
         AND ra.display = 'Y';
      COMMIT;
    ELSE
      ROLLBACK;
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := api_messages(l_count);
    END IF;
  EXCEPTION
    WHEN OTHERS THEN
      ROLLBACK;
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END apply_receipt;

  PROCEDURE apply_credit_memo(
    P_CM_TRX_NUMBER              IN  VARCHAR2,
    P_INV_TRX_NUMBER             IN  VARCHAR2,
    P_AMOUNT_APPLIED             IN  NUMBER,
    P_APPLY_DATE                 IN  DATE,
    P_GL_DATE                    IN  DATE DEFAULT NULL,
    X_RECEIVABLE_APPLICATION_ID  OUT NUMBER,
    X_RETURN_STATUS              OUT VARCHAR2,
    X_MSG_DATA                   OUT VARCHAR2) IS
    l_org      NUMBER := ctx_org;
    l_rec      AR_CM_APPLICATION_PUB.cm_app_rec_type;
    l_count    NUMBER;
    l_from     NUMBER;
    l_to       NUMBER;
  BEGIN
    l_rec.cm_customer_trx_id := trx_id(P_CM_TRX_NUMBER, l_org);
    l_rec.inv_customer_trx_id := trx_id(P_INV_TRX_NUMBER, l_org);
    IF l_rec.cm_customer_trx_id IS NULL OR l_rec.inv_customer_trx_id IS NULL THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_RAPI_TRX_NUM_INVALID: Invalid transaction number '
                    || CASE WHEN l_rec.cm_customer_trx_id IS NULL
                            THEN P_CM_TRX_NUMBER ELSE P_INV_TRX_NUMBER END;
      RETURN;
    END IF;
    IF NOT ar_period_open(l_org, NVL(P_GL_DATE, P_APPLY_DATE)) THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := 'AR_RAPI_GL_DATE_INVALID: The GL date of the application is not in an '
                    || 'open or future enterable period';
      RETURN;
    END IF;
    l_rec.amount_applied := P_AMOUNT_APPLIED;
    l_rec.apply_date := TRUNC(P_APPLY_DATE);
    l_rec.gl_date := TRUNC(NVL(P_GL_DATE, P_APPLY_DATE));
    AR_CM_APPLICATION_PUB.apply_on_account(
      p_api_version                => 1.0,
      p_init_msg_list              => FND_API.G_TRUE,
      p_commit                     => FND_API.G_FALSE,
      p_cm_app_rec                 => l_rec,
      x_return_status              => X_RETURN_STATUS,
      x_msg_count                  => l_count,
      x_msg_data                   => X_MSG_DATA,
      x_out_rec_application_id     => X_RECEIVABLE_APPLICATION_ID,
      x_acctd_amount_applied_from  => l_from,
      x_acctd_amount_applied_to    => l_to,
      p_org_id                     => l_org);
    IF X_RETURN_STATUS = 'S' THEN
      COMMIT;
    ELSE
      ROLLBACK;
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := api_messages(l_count);
    END IF;
  EXCEPTION
    WHEN OTHERS THEN
      ROLLBACK;
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END apply_credit_memo;

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
    X_MSG_DATA           OUT VARCHAR2) IS
    l_org NUMBER := ctx_org;
    i     PLS_INTEGER := 0;
  BEGIN
    X_CASH_RECEIPT_ID := receipt_id(P_RECEIPT_NUMBER, method_id(P_RECEIPT_METHOD, l_org), l_org);
    IF X_CASH_RECEIPT_ID IS NULL THEN
      X_EXISTS := 'N';
      X_RETURN_STATUS := 'S';
      RETURN;
    END IF;
    SELECT 'Y', cr.receipt_number, rm.name, cr.receipt_method_id, cr.org_id, cr.amount,
           cr.currency_code, cr.receipt_date,
           (SELECT MIN(crh.gl_date) FROM ar_cash_receipt_history_all crh
             WHERE crh.cash_receipt_id = cr.cash_receipt_id),
           ca.account_number
      INTO X_EXISTS, X_RECEIPT_NUMBER, X_RECEIPT_METHOD, X_RECEIPT_METHOD_ID, X_ORG_ID,
           X_AMOUNT, X_CURRENCY_CODE, X_RECEIPT_DATE, X_GL_DATE, X_CUSTOMER_REF
      FROM ar_cash_receipts_all cr
      JOIN ar_receipt_methods rm ON rm.receipt_method_id = cr.receipt_method_id
      LEFT JOIN hz_cust_accounts ca ON ca.cust_account_id = cr.pay_from_customer
     WHERE cr.cash_receipt_id = X_CASH_RECEIPT_ID;
    X_APPLIED := 0;
    FOR a IN (
      SELECT ra.receivable_application_id, t.trx_number, tt.type trx_class,
             ra.amount_applied, ra.apply_date, ra.gl_date
        FROM ar_receivable_applications_all ra
        JOIN ra_customer_trx_all t ON t.customer_trx_id = ra.applied_customer_trx_id
        JOIN ra_cust_trx_types_all tt ON tt.cust_trx_type_id = t.cust_trx_type_id
                                     AND tt.org_id = t.org_id
       WHERE ra.cash_receipt_id = X_CASH_RECEIPT_ID
         AND ra.status = 'APP'
         AND ra.display = 'Y'
       ORDER BY ra.receivable_application_id)
    LOOP
      i := i + 1;
      X_APPLICATIONS(i).RECEIVABLE_APPLICATION_ID := a.receivable_application_id;
      X_APPLICATIONS(i).TRX_NUMBER := a.trx_number;
      X_APPLICATIONS(i).TRX_CLASS := a.trx_class;
      X_APPLICATIONS(i).AMOUNT_APPLIED := a.amount_applied;
      X_APPLICATIONS(i).APPLY_DATE := a.apply_date;
      X_APPLICATIONS(i).GL_DATE := a.gl_date;
      X_APPLIED := X_APPLIED + a.amount_applied;
    END LOOP;
    X_UNAPPLIED := X_AMOUNT - X_APPLIED;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_receipt;

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
    X_MSG_DATA           OUT VARCHAR2) IS
    l_org NUMBER := ctx_org;
  BEGIN
    -- The primary remittance account of the method in the org; its cash account is the
    -- bank account use's (CE_BANK_ACCT_USES_ALL.AR_ASSET_CCID — INFERRED column choice).
    SELECT rm.receipt_method_id, rm.name, rma.org_id, ba.bank_account_id,
           ba.bank_account_name, ba.bank_account_num, ba.currency_code,
           bau.ar_asset_ccid, k.concatenated_segments
      INTO X_RECEIPT_METHOD_ID, X_NAME, X_ORG_ID, X_BANK_ACCOUNT_ID, X_BANK_ACCOUNT_NAME,
           X_BANK_ACCOUNT_NUM, X_CURRENCY_CODE, X_CASH_CCID, X_CASH_ACCOUNT
      FROM ar_receipt_methods rm
      JOIN ar_receipt_method_accounts_all rma ON rma.receipt_method_id = rm.receipt_method_id
      JOIN ce_bank_acct_uses_all bau ON bau.bank_acct_use_id = rma.remit_bank_acct_use_id
      JOIN ce_bank_accounts ba ON ba.bank_account_id = bau.bank_account_id
      LEFT JOIN gl_code_combinations_kfv k ON k.code_combination_id = bau.ar_asset_ccid
     WHERE UPPER(rm.name) = UPPER(P_RECEIPT_METHOD)
       AND rma.org_id = l_org
       AND NVL(rma.primary_flag, 'Y') = 'Y'
       AND ROWNUM = 1;
    X_EXISTS := 'Y';
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN NO_DATA_FOUND THEN
      X_EXISTS := 'N';
      X_RETURN_STATUS := 'S';
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_receipt_method;

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
    X_MSG_DATA         OUT VARCHAR2) IS
    l_org NUMBER := ctx_org;
    i     PLS_INTEGER := 0;
  BEGIN
    X_CUSTOMER_TRX_ID := trx_id(P_TRX_NUMBER, l_org);
    IF X_CUSTOMER_TRX_ID IS NULL THEN
      X_EXISTS := 'N';
      X_RETURN_STATUS := 'S';
      RETURN;
    END IF;
    SELECT 'Y', t.trx_number, ps.class, t.invoice_currency_code,
           ps.amount_due_original, ps.amount_due_remaining
      INTO X_EXISTS, X_TRX_NUMBER, X_TRX_CLASS, X_CURRENCY_CODE, X_AMOUNT, X_BALANCE_DUE
      FROM ra_customer_trx_all t
      JOIN ar_payment_schedules_all ps ON ps.customer_trx_id = t.customer_trx_id
     WHERE t.customer_trx_id = X_CUSTOMER_TRX_ID
       AND ROWNUM = 1;
    FOR a IN (
      SELECT ra.receivable_application_id,
             CASE WHEN ra.cash_receipt_id IS NOT NULL THEN 'CASH' ELSE 'CM' END app_type,
             cr.receipt_number, rm.name method_name, cm.trx_number cm_number,
             inv.trx_number inv_number, ra.amount_applied, ra.apply_date
        FROM ar_receivable_applications_all ra
        LEFT JOIN ar_cash_receipts_all cr ON cr.cash_receipt_id = ra.cash_receipt_id
        LEFT JOIN ar_receipt_methods rm ON rm.receipt_method_id = cr.receipt_method_id
        LEFT JOIN ra_customer_trx_all cm ON cm.customer_trx_id = ra.customer_trx_id
        LEFT JOIN ra_customer_trx_all inv ON inv.customer_trx_id = ra.applied_customer_trx_id
       WHERE (ra.applied_customer_trx_id = X_CUSTOMER_TRX_ID
              OR ra.customer_trx_id = X_CUSTOMER_TRX_ID)
         AND ra.status = 'APP'
         AND ra.display = 'Y'
       ORDER BY ra.receivable_application_id)
    LOOP
      i := i + 1;
      X_APPLICATIONS(i).RECEIVABLE_APPLICATION_ID := a.receivable_application_id;
      X_APPLICATIONS(i).APPLICATION_TYPE := a.app_type;
      X_APPLICATIONS(i).RECEIPT_NUMBER := a.receipt_number;
      X_APPLICATIONS(i).RECEIPT_METHOD := a.method_name;
      X_APPLICATIONS(i).CM_TRX_NUMBER := a.cm_number;
      X_APPLICATIONS(i).INV_TRX_NUMBER := a.inv_number;
      X_APPLICATIONS(i).AMOUNT_APPLIED := a.amount_applied;
      X_APPLICATIONS(i).APPLY_DATE := a.apply_date;
    END LOOP;
    X_RETURN_STATUS := 'S';
  EXCEPTION
    WHEN OTHERS THEN
      X_RETURN_STATUS := 'E';
      X_MSG_DATA := SUBSTR(SQLERRM, 1, 2000);
  END get_transaction;

END XXMLC_INTEGRATION_PKG;
/
COMMIT;
EXIT;
