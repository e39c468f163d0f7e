use ml_connector::ledger::journal::Engine;
use ml_connector::ledger::mapping::Mapping;
use ml_connector::ledger::parse::{SettlementFile, decode};
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let d = decode(&bytes, None).unwrap();
    let f = SettlementFile::parse(&d.text, d.charset).unwrap();
    let m = Mapping::default_mapping();
    let e = Engine::new(&m, Engine::preview_calendar(&f.summary, chrono_tz::UTC), chrono_tz::UTC, &f.summary, f.dominant_marketplace());
    for _ in 0..3 {
        let t = Instant::now();
        let mut n = 0u64;
        for r in f.rows() { let r = r.unwrap(); n += r.line as u64; }
        let t1 = t.elapsed();
        let t = Instant::now();
        let mut acc = e.accumulator();
        for r in f.rows() { acc.add(&r.unwrap()).unwrap(); }
        let t2 = t.elapsed();
        let t = Instant::now();
        let mut mt = m.matcher();
        let mut k = 0u64;
        for r in f.rows() { let r = r.unwrap(); k += mt.combo_id(r.transaction_type, r.amount_type, r.amount_description, r.marketplace_name) as u64; }
        let t3 = t.elapsed();
        let t = Instant::now();
        let p = acc.finish().unwrap();
        println!("rows {t1:?} rows+add {t2:?} rows+matcher {t3:?} finish {:?} {n} {k} {}", t.elapsed(), p.rows);
    }
}
