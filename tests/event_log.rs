//! The hand-made ownership log that `conversion`, `recovery` and `pool` are tested on, with
//! answers worked out by hand in each command's tests: a transfer mid-window, a reclaim by the
//! same owner inside the cooldown, an immature spell, a refund inside the window, events out of
//! order, an unknown event type, a release while nobody holds the customer, orders of a
//! customer with no events and orders before any assignment.

use std::collections::HashMap;

use crate::common::{records, Workdir};

pub const EVENTS: &str = "customer_id,event_time,event,owner,reason,pool
A,2024-01-01 09:00:00,assign,Ann,,East
A,2024-01-20 10:00:00,transfer,Bob,rebalance,East
B,2024-01-05 09:00:00,claim,Ann,,East
B,2024-02-20 09:00:00,recycle,Ann,no_followup,East
B,2024-03-01 09:00:00,领取,Ann,,East
C,2024-06-20 09:00:00,assign,Bob,,West
D,2024-02-01 09:00:00,assign,Bob,,West
D,2024-01-15 09:00:00,assign,Ann,,West
E,2024-03-01 09:00:00,assign,Cat,,West
E,2024-03-05 09:00:00,teleport,Cat,,West
F,2024-02-10 09:00:00,release,Dan,customer_request,West
";

pub const ORDERS: &str = "customer_id,order_id,order_date,amount,status
A,o1,2024-01-25,100,paid
B,o2,2024-03-10,200,paid
B,o2,2024-03-12,50,refunded
B,o3,2024-03-25,80,paid
D,o4,2024-01-20,60,paid
Z,o5,2024-02-01,10,paid
E,o6,2024-02-01,30,paid
";

pub const FOLLOWUPS: &str = "customer_id,followup_time,owner
A,2024-01-21 10:00:00,Bob
C,2024-06-21 09:00:00,Bob
E,2024-06-28 09:00:00,Cat
";

pub fn workdir() -> Workdir {
    let w = Workdir::new();
    w.write("events.csv", EVENTS);
    w.write("orders.csv", ORDERS);
    w.write("followups.csv", FOLLOWUPS);
    w
}

pub fn by_first_column(text: &str) -> HashMap<String, HashMap<String, String>> {
    let (headers, _) = crate::common::parse_csv(text);
    records(text)
        .into_iter()
        .map(|r| (r[&headers[0]].clone(), r))
        .collect()
}

pub const BASE: [&str; 9] = [
    "--events",
    "events.csv",
    "--orders",
    "orders.csv",
    "--window",
    "30",
    "--as-of",
    "2024-07-01",
    "-q",
];
