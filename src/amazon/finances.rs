//! Finances v0 calls: event groups and their events, as paged streams.
//!
//! Finances pages may be empty while a token is still returned: streams stop only when
//! the token is absent.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use super::client::SpApiClient;
use super::limiter::Operation;
use super::models::finances::{
    FinancialEventGroup, FinancialEventGroupsPayload, FinancialEvents, FinancialEventsPayload,
};
use super::orders::{iso, path_segment, token};
use super::{Error, Page, page_stream};

/// Filters for `listFinancialEventGroups`. More than 180 days apart → Amazon returns nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventGroupsQuery {
    pub started_after: Option<DateTime<Utc>>,
    pub started_before: Option<DateTime<Utc>>,
    /// 1–100; Amazon's default is 10, this client asks for 100 unless told.
    pub max_results_per_page: Option<u32>,
}

/// Filters for the event listings. `posted_before` requires `posted_after`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsQuery {
    pub posted_after: Option<DateTime<Utc>>,
    pub posted_before: Option<DateTime<Utc>>,
    pub max_results_per_page: Option<u32>,
}

impl EventsQuery {
    fn params(&self, next_token: Option<&str>) -> Vec<(&'static str, String)> {
        let mut q = vec![(
            "MaxResultsPerPage",
            self.max_results_per_page
                .unwrap_or(100)
                .clamp(1, 100)
                .to_string(),
        )];
        if let Some(a) = self.posted_after {
            q.push(("PostedAfter", iso(a)));
        }
        if let Some(b) = self.posted_before {
            q.push(("PostedBefore", iso(b)));
        }
        if let Some(t) = next_token {
            q.push(("NextToken", t.to_string()));
        }
        q
    }
}

/// One page of financial events; `next_token` resumes after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: FinancialEvents,
    pub next_token: Option<String>,
}

/// Which listing an events stream walks.
#[derive(Debug, Clone)]
enum EventsSource {
    Group(String),
    Order(String),
    All,
}

impl SpApiClient {
    pub async fn financial_event_groups_page(
        &self,
        query: &EventGroupsQuery,
        next_token: Option<&str>,
    ) -> Result<Page<FinancialEventGroup>, Error> {
        let mut q = vec![(
            "MaxResultsPerPage",
            query
                .max_results_per_page
                .unwrap_or(100)
                .clamp(1, 100)
                .to_string(),
        )];
        if let Some(a) = query.started_after {
            q.push(("FinancialEventGroupStartedAfter", iso(a)));
        }
        if let Some(b) = query.started_before {
            q.push(("FinancialEventGroupStartedBefore", iso(b)));
        }
        if let Some(t) = next_token {
            q.push(("NextToken", t.to_string()));
        }
        let payload: FinancialEventGroupsPayload = self
            .get_payload(
                Operation::ListFinancialEventGroups,
                "/finances/v0/financialEventGroups",
                &q,
            )
            .await?;
        Ok(Page {
            items: payload.groups,
            next_token: token(payload.next_token),
        })
    }

    /// Every event group page from `resume` or the start.
    pub fn financial_event_groups(
        &self,
        query: EventGroupsQuery,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<Page<FinancialEventGroup>, Error>> {
        let client = self.clone();
        page_stream(
            resume,
            move |cursor| {
                let (client, query) = (client.clone(), query.clone());
                async move {
                    client
                        .financial_event_groups_page(&query, cursor.as_deref())
                        .await
                }
            },
            |page| page.next_token.clone(),
        )
    }

    async fn events_page(
        &self,
        source: &EventsSource,
        query: &EventsQuery,
        next_token: Option<&str>,
    ) -> Result<EventsPage, Error> {
        let (op, path) = match source {
            EventsSource::Group(id) => (
                Operation::ListFinancialEventsByGroupId,
                format!(
                    "/finances/v0/financialEventGroups/{}/financialEvents",
                    path_segment(id)
                ),
            ),
            EventsSource::Order(id) => (
                Operation::ListFinancialEventsByOrderId,
                format!("/finances/v0/orders/{}/financialEvents", path_segment(id)),
            ),
            EventsSource::All => (
                Operation::ListFinancialEvents,
                "/finances/v0/financialEvents".to_string(),
            ),
        };
        let payload: FinancialEventsPayload = self
            .get_payload(op, &path, &query.params(next_token))
            .await?;
        Ok(EventsPage {
            events: payload.events,
            next_token: token(payload.next_token),
        })
    }

    fn events_stream(
        &self,
        source: EventsSource,
        query: EventsQuery,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<EventsPage, Error>> {
        let client = self.clone();
        page_stream(
            resume,
            move |cursor| {
                let (client, source, query) = (client.clone(), source.clone(), query.clone());
                async move { client.events_page(&source, &query, cursor.as_deref()).await }
            },
            |page| page.next_token.clone(),
        )
    }

    /// The events of one group, page by page.
    pub fn financial_events_by_group(
        &self,
        group_id: impl Into<String>,
        query: EventsQuery,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<EventsPage, Error>> {
        self.events_stream(EventsSource::Group(group_id.into()), query, resume)
    }

    /// The events of one order, page by page.
    pub fn financial_events_by_order(
        &self,
        order_id: impl Into<String>,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<EventsPage, Error>> {
        self.events_stream(
            EventsSource::Order(order_id.into()),
            EventsQuery::default(),
            resume,
        )
    }

    /// All events posted in a window, page by page. Resume with the saved token or, when it
    /// has expired, a new query from [`FinancialEvents::latest_posted_date`].
    pub fn financial_events(
        &self,
        query: EventsQuery,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<EventsPage, Error>> {
        self.events_stream(EventsSource::All, query, resume)
    }

    /// Convenience: every event of a group in one value.
    pub async fn all_events_of_group(
        &self,
        group_id: &str,
        page_size: u32,
    ) -> Result<FinancialEvents, Error> {
        use futures::TryStreamExt;
        let mut all = FinancialEvents::default();
        let query = EventsQuery {
            max_results_per_page: Some(page_size),
            ..EventsQuery::default()
        };
        let mut pages = self.financial_events_by_group(group_id, query, None);
        while let Some(page) = pages.try_next().await? {
            all.extend(page.events);
        }
        Ok(all)
    }
}
