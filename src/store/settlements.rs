//! Parsed settlements, financial event groups, orders and report listings.

use super::{
    EventGroupRecord, Expect, NewAuditEntry, Op, OrderRecord, ReportRecord, SettlementRecord,
    Store, StoreError, T, check_part, json,
};

impl Store {
    pub fn put_settlement(
        &self,
        record: &SettlementRecord,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        check_part("settlement id", &record.summary.settlement_id)?;
        let key = record.summary.settlement_id.as_bytes().to_vec();
        self.commit(
            &[],
            &[Op::Put(T::Settlements, key, json(record))],
            audit.as_ref(),
        )?;
        Ok(())
    }

    pub fn settlement(&self, settlement_id: &str) -> Result<Option<SettlementRecord>, StoreError> {
        self.get_json(T::Settlements, settlement_id.as_bytes())
    }

    pub fn settlements(&self) -> Result<Vec<SettlementRecord>, StoreError> {
        self.all_json(T::Settlements, b"")
    }

    /// Links a settlement and its financial event group, both sides in one commit.
    pub fn link_event_group(
        &self,
        settlement_id: &str,
        group_id: &str,
        audit: Option<NewAuditEntry>,
    ) -> Result<(), StoreError> {
        let settlement = self
            .settlement(settlement_id)?
            .ok_or_else(|| StoreError::NotFound(format!("settlement {settlement_id}")))?;
        let group = self
            .event_group(group_id)?
            .ok_or_else(|| StoreError::NotFound(format!("event group {group_id}")))?;
        let mut linked_settlement = settlement.clone();
        linked_settlement.event_group_id = Some(group_id.into());
        let mut linked_group = group.clone();
        linked_group.settlement_id = Some(settlement_id.into());
        self.commit(
            &[
                Expect::record(
                    T::Settlements,
                    settlement_id.as_bytes().to_vec(),
                    Some(settlement),
                    format!("settlement {settlement_id}"),
                ),
                Expect::record(
                    T::EventGroups,
                    group_id.as_bytes().to_vec(),
                    Some(group),
                    format!("event group {group_id}"),
                ),
            ],
            &[
                Op::Put(
                    T::Settlements,
                    settlement_id.as_bytes().to_vec(),
                    json(&linked_settlement),
                ),
                Op::Put(
                    T::EventGroups,
                    group_id.as_bytes().to_vec(),
                    json(&linked_group),
                ),
            ],
            audit.as_ref(),
        )?;
        Ok(())
    }

    pub fn put_event_group(&self, record: &EventGroupRecord) -> Result<(), StoreError> {
        let key = record.group_id.as_bytes().to_vec();
        self.commit(&[], &[Op::Put(T::EventGroups, key, json(record))], None)?;
        Ok(())
    }

    pub fn event_group(&self, group_id: &str) -> Result<Option<EventGroupRecord>, StoreError> {
        self.get_json(T::EventGroups, group_id.as_bytes())
    }

    pub fn event_groups(&self) -> Result<Vec<EventGroupRecord>, StoreError> {
        self.all_json(T::EventGroups, b"")
    }

    /// Stores many orders in one commit (one flush).
    pub fn put_orders(&self, records: &[OrderRecord]) -> Result<(), StoreError> {
        let ops: Vec<Op> = records
            .iter()
            .map(|r| Op::Put(T::Orders, r.order_id.as_bytes().to_vec(), json(r)))
            .collect();
        self.commit(&[], &ops, None)?;
        Ok(())
    }

    pub fn order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        self.get_json(T::Orders, order_id.as_bytes())
    }

    pub fn orders_count(&self) -> usize {
        self.tree(T::Orders).len()
    }

    pub fn put_report(&self, record: &ReportRecord) -> Result<(), StoreError> {
        let key = record.report_id.as_bytes().to_vec();
        self.commit(&[], &[Op::Put(T::Reports, key, json(record))], None)?;
        Ok(())
    }

    pub fn reports(&self) -> Result<Vec<ReportRecord>, StoreError> {
        self.all_json(T::Reports, b"")
    }
}
