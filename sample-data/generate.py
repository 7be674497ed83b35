#!/usr/bin/env python3
"""Generates the bundled sample exports in this folder, deterministically (fixed seed, stdlib only).

    python3 sample-data/generate.py            # rewrites sample-data/*.csv

The story: a B2B company with 10 sales reps and a shared pool (公海) hands new leads to reps,
takes back the ones a rep neglects, and lets other reps claim them. Customers who convert buy
repeatedly (a BG/NBD-like process: a purchase rate and a chance to drop out after each purchase)
with a customer-level spend level (Gamma-Gamma-like). Some orders are refunded or cancelled.

Files:
  customers.csv   one row per lead/customer
  events.csv      ownership log: assign, claim, recycle, transfer, release
  followups.csv   follow-up activities by the owning rep
  orders.csv      order lines with margin; refunds are extra rows with status "refunded" and the same order_id
  surveys.csv     NPS (0-10) and CSAT (1-5) responses
  orders_gbk.csv  the same orders as a Chinese CRM would export them: GBK, Chinese headers,
                  2024/1/5 dates, ￥1,234.50 amounts, Chinese statuses
  opportunities.csv, stage_history.csv
                  the sales pipeline (商机): deals moving through Prospecting → Qualification →
                  Proposal → Negotiation to Closed Won / Closed Lost / Disqualified, with every
                  stage change; reps differ in how often and how fast their deals advance
  teams.csv       owner → team and region (office)
  opportunities_gbk.csv, stage_history_gbk.csv
                  the same pipeline as Fxiaoke-style exports: GBK, Chinese headers and stages
                  (初次接触 → 需求确认 → 方案报价 → 谈判 → 赢单 / 输单 / 无效)

  invoice_lines.csv
                  a retail invoice-line export (Online Retail style): InvoiceNo, StockCode,
                  Description, Quantity, InvoiceDate (12/1/2023 08:26, month first), UnitPrice,
                  CustomerID (empty for guest checkouts), Country; no amount column; cancellations
                  as invoices C + number with negative quantities, some cancelling an invoice of
                  the same number, some a line of an earlier invoice under a new number

  account_followups.csv
                  account managers' follow-ups after the first purchase, with a planted churn
                  driver (they stop 30-60 days before most lapsed customers' last purchase), for
                  `predict churn --followups`

  subscriptions.csv
                  a SaaS subscriptions export: customer_id, plan (basic / pro monthly, enterprise
                  annual contracts), start_date, end_date (empty while active), mrr, owner. Each
                  subscriber has a churn probability of their own (sBG: Beta per plan); annual
                  contracts are a row per contract year, renewed the day after the last one
                  ends; some lapsed monthly subscribers come back months later as a new row

The pipeline files come from their own random stream (seed + 1), the invoice lines from
seed + 2, the account follow-ups from seed + 3 and the subscriptions from seed + 4, so adding
them left the other files unchanged.
"""

import csv
import datetime as dt
import math
import os
import random

SEED = 20240601
START = dt.date(2022, 1, 1)
END = dt.date(2024, 12, 31)  # last day with data
N_CUSTOMERS = 5000

OWNERS = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴婷"]
# Reps differ in how quickly and how often they follow up, and how well they close.
OWNER_SKILL = {o: s for o, s in zip(OWNERS, [1.5, 1.3, 1.2, 1.1, 1.0, 0.95, 0.9, 0.8, 0.7, 0.55])}
# Some reps are much better (or worse) with leads of one source than their skill says: the
# owner × source effect `crm-eval assign` should find (a multiplier on the chance each follow-up
# closes; no extra random draw).
AFFINITY = {("吴婷", "referral"): 2.2, ("周杰", "trade_show"): 2.0, ("黄敏", "partner"): 2.0,
            ("张伟", "cold_call"): 0.4, ("王芳", "ads"): 0.4, ("刘洋", "website"): 0.5}
SOURCES = [("website", 0.30), ("referral", 0.15), ("trade_show", 0.15), ("cold_call", 0.20), ("ads", 0.12), ("partner", 0.08)]
SOURCE_QUALITY = {"website": 1.0, "referral": 1.6, "trade_show": 1.2, "cold_call": 0.6, "ads": 0.8, "partner": 1.3}
REGIONS = ["华东", "华南", "华北", "西南", "华中", "东北", "西北"]
INDUSTRIES = ["manufacturing", "retail", "software", "education", "healthcare", "logistics"]
CHANNELS = ["phone", "wechat", "visit", "email"]
# Gross margin rate by industry (no random draw, so adding it changed no other value).
MARGIN_RATE = {"manufacturing": 0.22, "retail": 0.18, "software": 0.55, "education": 0.35, "healthcare": 0.30, "logistics": 0.15}
RECYCLE_REASONS = ["no_followup", "no_deal", "owner_left", "customer_request"]
POOLS = ["华东公海", "华南公海", "全国公海"]


def weighted(rng, pairs):
    x = rng.random() * sum(w for _, w in pairs)
    for value, w in pairs:
        x -= w
        if x <= 0:
            return value
    return pairs[-1][0]


def at(day, rng, start_hour=9, end_hour=19):
    """A datetime on `day` during working hours."""
    seconds = rng.randrange(start_hour * 3600, end_hour * 3600)
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)


def main():
    rng = random.Random(SEED)
    here = os.path.dirname(os.path.abspath(__file__))
    customers, events, followups, orders, surveys = [], [], [], [], []
    order_seq = 0
    span = (END - START).days

    for i in range(1, N_CUSTOMERS + 1):
        cid = f"C{i:05d}"
        created = START + dt.timedelta(days=int(span * rng.random() ** 0.9))
        source = weighted(rng, SOURCES)
        region = rng.choice(REGIONS)
        industry = rng.choice(INDUSTRIES)
        pool = rng.choice(POOLS)
        quality = SOURCE_QUALITY[source] * rng.lognormvariate(0, 0.5)
        # Spend level per customer (Gamma-Gamma: mean order value varies across customers).
        spend_level = rng.gammavariate(4.0, 300.0)
        # Purchase rate per day once converted, and the chance of dropping out after a purchase.
        rate = rng.gammavariate(0.8, 1 / 60)
        dropout = rng.betavariate(1.0, 4.0)

        owner = None
        assigned_at = None
        converted = False
        t = at(created, rng)
        first_owner_time = None
        # Ownership spells until the data ends or the customer converts.
        while True:
            # A lead waits in the pool for a while unless assigned at once.
            if owner is None:
                wait = 0 if not events else int(rng.expovariate(1 / 20))
                t = t + dt.timedelta(days=wait, hours=rng.randrange(0, 8))
                if t.date() > END:
                    break
                owner = rng.choice(OWNERS)
                kind = "assign" if rng.random() < 0.6 or first_owner_time is None and rng.random() < 0.8 else "claim"
                events.append([cid, t, kind, owner, "", pool])
                assigned_at = assigned_at or t
                first_owner_time = first_owner_time or t
            skill = OWNER_SKILL[owner]
            spell_start = t
            # Follow-ups: the first after a skill-dependent delay (hours), then every few days.
            ft = spell_start + dt.timedelta(hours=rng.expovariate(skill / 30))
            n_follow = 0
            spell_end = None
            while ft.date() <= END and n_follow < 12:
                followups.append([cid, ft.replace(microsecond=0), owner, rng.choice(CHANNELS)])
                n_follow += 1
                # Each follow-up may close the deal.
                if rng.random() < 0.06 * skill * quality * AFFINITY.get((owner, source), 1.0):
                    converted = True
                    break
                gap = rng.expovariate(skill / 9)
                if gap > 30 and rng.random() < 0.7:
                    # Neglected: the pool rule takes it back after 30 days without follow-up.
                    spell_end = ft + dt.timedelta(days=30, hours=rng.randrange(0, 24))
                    break
                ft = ft + dt.timedelta(days=gap)
            if converted:
                t = ft
                break
            if spell_end is None:
                spell_end = ft + dt.timedelta(days=rng.randrange(20, 60))
            if spell_end.date() > END:
                break
            r = rng.random()
            if r < 0.12:
                # Rep leaves or the team rebalances: transfer to a colleague.
                new_owner = rng.choice([o for o in OWNERS if o != owner])
                events.append([cid, spell_end, "transfer", new_owner, "rebalance", pool])
                owner = new_owner
                t = spell_end
                continue
            reason = "no_followup" if n_follow < 3 else weighted(rng, [("no_deal", 0.7), ("owner_left", 0.1), ("customer_request", 0.2)])
            kind = "recycle" if rng.random() < 0.85 else "release"
            events.append([cid, spell_end, kind, owner, reason, pool])
            owner = None
            t = spell_end
            if rng.random() < 0.25:
                break  # nobody claims it again

        customers.append([
            cid,
            at(created, rng).replace(microsecond=0),
            source,
            owner or "",
            "customer" if converted else ("lead" if owner else "pool"),
            region,
            industry,
            assigned_at.replace(microsecond=0) if assigned_at else "",
        ])
        if not converted:
            continue

        # Purchases: first order on conversion, then a Poisson process with dropout.
        day = t.date()
        alive = True
        n_orders = 0
        while alive and day <= END:
            order_seq += 1
            oid = f"SO{order_seq:06d}"
            amount = round(max(20.0, rng.gammavariate(6.0, spend_level / 6.0)), 2)
            when = at(day, rng)
            r = rng.random()
            if r < 0.04:
                orders.append([oid, cid, when, amount, "cancelled", owner, rng.choice(["online", "offline"]), round(amount * MARGIN_RATE[industry], 2)])
            else:
                channel = rng.choice(["online", "offline"])
                orders.append([oid, cid, when, amount, "paid", owner, channel, round(amount * MARGIN_RATE[industry], 2)])
                n_orders += 1
                if r < 0.07:
                    refund_day = when + dt.timedelta(days=rng.randrange(1, 20))
                    refund = amount if rng.random() < 0.5 else round(amount * rng.uniform(0.1, 0.5), 2)
                    if refund_day.date() <= END:
                        # Half the exports write refunds negative, half positive with a status.
                        value = -refund if rng.random() < 0.5 else refund
                        orders.append([oid, cid, refund_day, value, "refunded", owner, channel, round(value * MARGIN_RATE[industry], 2)])
            if n_orders >= 1 and rng.random() < dropout * 0.5:
                alive = False
            day = day + dt.timedelta(days=min(2000, max(1, int(rng.expovariate(rate)) + 1)))

        # Surveys: some customers answer after some orders.
        if rng.random() < 0.35:
            base = 7.5 + 1.5 * math.tanh((OWNER_SKILL.get(owner, 1.0) - 1.0) * 2)
            for _ in range(rng.randrange(1, 3)):
                when = day - dt.timedelta(days=rng.randrange(1, 200))
                if when < t.date() or when > END:
                    continue
                score = min(10, max(0, round(rng.gauss(base, 2.0))))
                surveys.append([cid, when, "nps", score, owner])
                csat = min(5, max(1, round(rng.gauss(3.9 + (score - 7) * 0.25, 0.7))))
                surveys.append([cid, when, "csat", csat, owner])

    orders.sort(key=lambda r: (r[2], r[0]))
    events.sort(key=lambda r: (r[1], r[0]))
    followups.sort(key=lambda r: (r[1], r[0]))
    surveys.sort(key=lambda r: (r[1], r[0], r[2]))

    def fmt(v):
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(v, dt.date):
            return v.isoformat()
        if isinstance(v, float):
            return f"{v:.2f}"
        return v

    def write(name, header, rows):
        with open(os.path.join(here, name), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for row in rows:
                w.writerow([fmt(v) for v in row])

    write("customers.csv", ["customer_id", "created_at", "source", "owner", "stage", "region", "industry", "assigned_at"], customers)
    write("events.csv", ["customer_id", "event_time", "event", "owner", "reason", "pool"], events)
    write("followups.csv", ["customer_id", "followup_time", "owner", "channel"], followups)
    write("orders.csv", ["order_id", "customer_id", "order_date", "amount", "status", "owner", "channel", "margin"], orders)
    write("surveys.csv", ["customer_id", "response_date", "survey", "score", "owner"], surveys)

    # The Chinese export: GBK, Chinese headers and statuses, 2024/1/5 dates, ￥ amounts.
    status_cn = {"paid": "已完成", "refunded": "已退款", "cancelled": "已取消"}
    channel_cn = {"online": "线上", "offline": "线下"}
    with open(os.path.join(here, "orders_gbk.csv"), "w", newline="", encoding="gbk") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["订单编号", "客户编号", "下单时间", "实付金额", "订单状态", "负责人", "渠道", "毛利"])
        for oid, cid, when, amount, status, owner, channel, margin in orders:
            sign = "-" if amount < 0 else ""
            w.writerow([
                oid,
                cid,
                f"{when.year}/{when.month}/{when.day} {when:%H:%M}",
                f"{sign}￥{abs(amount):,.2f}",
                status_cn[status],
                owner,
                channel_cn[channel],
                f"{margin:.2f}",
            ])

    print(f"customers {len(customers)}, events {len(events)}, followups {len(followups)}, "
          f"orders {len(orders)}, surveys {len(surveys)}")
    pipeline(here, [(c[0], c[3]) for c in customers])
    invoice_lines(here)
    account_followups(here, orders)
    subscriptions(here)


STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
STAGES_CN = {"Prospecting": "初次接触", "Qualification": "需求确认", "Proposal": "方案报价",
             "Negotiation": "谈判", "Closed Won": "赢单", "Closed Lost": "输单", "Disqualified": "无效"}
# Chance to advance from each stage, before the rep's skill; the rest are lost (or disqualified
# early on).
ADVANCE = [0.70, 0.65, 0.60, 0.65]
PRODUCTS = [("CRM Basic", 8000.0), ("CRM Pro", 24000.0), ("CRM Enterprise", 90000.0), ("Implementation", 30000.0)]
TEAMS = {"张伟": ("East", "上海"), "王芳": ("East", "上海"), "李娜": ("East", "杭州"),
         "刘洋": ("South", "深圳"), "陈静": ("South", "广州"), "杨帆": ("South", "深圳"),
         "赵磊": ("North", "北京"), "黄敏": ("North", "北京"), "周杰": ("North", "天津"),
         "吴婷": ("North", "天津")}


def pipeline(here, customers):
    """Opportunities of the same customers and reps, with their stage changes."""
    rng = random.Random(SEED + 1)
    span = (END - START).days
    end = dt.datetime.combine(END, dt.time(23, 59, 59))
    opps, history = [], []
    for i in range(1, 2501):
        oid = f"OPP{i:05d}"
        cid, owner = customers[rng.randrange(len(customers))]
        owner = owner or rng.choice(OWNERS)
        skill = OWNER_SKILL[owner]
        product, price = rng.choice(PRODUCTS)
        source = weighted(rng, SOURCES)
        created = at(START + dt.timedelta(days=rng.randrange(span)), rng)
        amount = round(price * rng.uniform(0.7, 1.3), 2)
        t = created
        outcome = None
        stage = STAGES[0]
        changes = [(stage, created)]
        for k in range(len(STAGES)):
            # Days in this stage: faster reps move faster.
            t = t + dt.timedelta(days=rng.expovariate(skill / (6 + 4 * k)), hours=rng.uniform(0, 8))
            if t > end:
                break
            if rng.random() < min(0.95, ADVANCE[k] * skill ** 0.5):
                if k + 1 < len(STAGES):
                    stage = STAGES[k + 1]
                    changes.append((stage, t))
                else:
                    outcome = "Closed Won"
            else:
                outcome = "Disqualified" if k < 2 and rng.random() < 0.2 else "Closed Lost"
            if outcome:
                changes.append((outcome, t))
                break
        closed = changes[-1][1].date() if outcome else None
        # A few open deals have no amount yet.
        shown_amount = "" if outcome is None and rng.random() < 0.05 else f"{amount:.2f}"
        opps.append([oid, cid, owner, outcome or stage, created, closed, shown_amount, product, source])
        history.extend([oid, s, when] for s, when in changes)
    history.sort(key=lambda r: (r[2], r[0]))

    def fmt(v):
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(v, dt.date):
            return v.isoformat()
        return "" if v is None else v

    def write(name, header, rows, encoding="utf-8", terminator="\n"):
        with open(os.path.join(here, name), "w", newline="", encoding=encoding) as f:
            w = csv.writer(f, lineterminator=terminator)
            w.writerow(header)
            for row in rows:
                w.writerow([fmt(v) for v in row])

    write("opportunities.csv",
          ["opportunity_id", "customer_id", "owner", "stage", "created_at", "close_date", "amount", "product", "lead_source"],
          opps)
    write("stage_history.csv", ["opportunity_id", "stage", "entered_at"], history)
    write("teams.csv", ["owner", "team", "region"], [[o, *TEAMS[o]] for o in OWNERS])
    # Fxiaoke-style: Chinese headers and stages, 2024/1/5 dates, GBK.
    cn_date = lambda d: f"{d.year}/{d.month}/{d.day}" if d else ""
    write("opportunities_gbk.csv",
          ["商机编号", "客户编号", "负责人", "销售阶段", "创建时间", "结单日期", "商机金额", "产品", "来源"],
          [[o, c, w, STAGES_CN[s], f"{cn_date(cr)} {cr:%H:%M}", cn_date(cl), a, p, src]
           for o, c, w, s, cr, cl, a, p, src in opps],
          encoding="gbk", terminator="\r\n")
    write("stage_history_gbk.csv", ["商机编号", "销售阶段", "进入时间"],
          [[o, STAGES_CN[s], f"{cn_date(t)} {t:%H:%M:%S}"] for o, s, t in history],
          encoding="gbk", terminator="\r\n")
    won = sum(1 for o in opps if o[3] == "Closed Won")
    print(f"opportunities {len(opps)} ({won} won), stage changes {len(history)}")


RETAIL_PRODUCTS = [
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55),
    ("71053", "WHITE METAL LANTERN", 3.39),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25),
    ("22633", "HAND WARMER UNION JACK", 1.85),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT", 1.69),
    ("22745", "POPPY'S PLAYHOUSE BEDROOM", 2.10),
    ("21754", "HOME BUILDING BLOCK WORD", 5.95),
    ("23084", "RABBIT NIGHT LIGHT", 2.08),
]


def invoice_lines(here):
    """A retail invoice-line export: quantities and unit prices, guests, cancellations."""
    rng = random.Random(SEED + 2)
    start = dt.datetime(2023, 1, 3, 8, 0)
    shoppers = [f"{12346 + i}" for i in range(400)]
    countries = ["United Kingdom"] * 8 + ["France", "Germany"]
    rows, invoice = [], 536365
    bought = []  # (invoice, customer, stock, quantity, price, when)
    for _ in range(2600):
        when = start + dt.timedelta(minutes=rng.randrange(0, 360 * 24 * 60))
        guest = rng.random() < 0.12
        customer = "" if guest else rng.choice(shoppers[: rng.choice([60, 200, 400])])
        country = rng.choice(countries)
        for stock, name, price in rng.sample(RETAIL_PRODUCTS, rng.randint(1, 4)):
            quantity = rng.choice([1, 2, 3, 4, 6, 12, 24])
            rows.append([str(invoice), stock, name, quantity, when, price, customer, country])
            if customer:
                bought.append((invoice, customer, stock, name, quantity, price, when, country))
        invoice += 1
    # Cancellations: 60 of the same number, 60 of an earlier line under a new number.
    for k, (inv, customer, stock, name, quantity, price, when, country) in enumerate(
            rng.sample(bought, 120)):
        later = when + dt.timedelta(hours=rng.randint(1, 72))
        number = inv if k < 60 else invoice + k
        rows.append([f"C{number}", stock, name, -rng.randint(1, quantity), later, price, customer, country])
    rows.sort(key=lambda r: (r[4], r[0]))
    with open(os.path.join(here, "invoice_lines.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                    "CustomerID", "Country"])
        for r in rows:
            when = r[4]
            w.writerow([*r[:4], f"{when.month}/{when.day}/{when.year} {when:%H:%M}", *r[5:]])
    print(f"invoice lines {len(rows)}")


def account_followups(here, orders):
    """Account management after the first purchase, with a planted churn driver: the account
    manager's follow-ups run every 20 days or so from the first purchase, and for 80 % of the
    customers who stop buying they stop 30-60 days before the last purchase (the relationship
    cools first); for the rest they go on for up to 120 days after it. Customers still buying at
    the end are followed up to the end. `predict churn --followups account_followups.csv` should
    find that customers without recent follow-ups churn more."""
    rng = random.Random(SEED + 3)
    days = {}
    for _, cid, when, _, status, owner, _, _ in orders:
        if status == "paid":
            first, last, who = days.get(cid, (when.date(), when.date(), owner))
            days[cid] = (min(first, when.date()), max(last, when.date()), who)
    rows = []
    for cid in sorted(days):
        first, last, owner = days[cid]
        if (END - last).days < 120:
            stop = END
        elif rng.random() < 0.8:
            stop = last - dt.timedelta(days=rng.randint(30, 60))
        else:
            stop = last + dt.timedelta(days=rng.randint(0, 120))
        day = first + dt.timedelta(days=rng.randint(1, 20))
        while day <= min(stop, END):
            rows.append([cid, at(day, rng).replace(microsecond=0), owner, rng.choice(CHANNELS)])
            day += dt.timedelta(days=max(1, int(rng.expovariate(1 / 20))))
    rows.sort(key=lambda r: (r[1], r[0]))
    with open(os.path.join(here, "account_followups.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_id", "followup_time", "owner", "channel"])
        for cid, when, owner, channel in rows:
            w.writerow([cid, when.strftime("%Y-%m-%d %H:%M:%S"), owner, channel])
    print(f"account follow-ups {len(rows)}")


# Plan → (months per contract, Beta(α, β) of the churn probability per contract, MRR).
PLANS = {"basic": (1, 0.7, 3.0, 99), "pro": (1, 1.2, 9.0, 299), "enterprise": (12, 2.0, 6.0, 1500)}


def subscriptions(here):
    """Subscriptions from 2022-01 to the end of the data, each subscriber with their own churn
    probability per contract period (shifted-beta-geometric by plan)."""
    rng = random.Random(SEED + 4)

    def add_months(d, k):
        y, m = divmod(d.month - 1 + k, 12)
        year, month = d.year + y, m + 1
        last = [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return dt.date(year, month, min(d.day, last))

    rows = []
    span = (END - START).days
    for i in range(1500):
        cid = f"S{10001 + i}"
        plan = weighted(rng, [("basic", 0.5), ("pro", 0.35), ("enterprise", 0.15)])
        months, a, b, mrr = PLANS[plan]
        owner = rng.choice(OWNERS)
        start = START + dt.timedelta(days=rng.randrange(span))
        theta = rng.betavariate(a, b)
        k = 1
        while True:
            period_end = add_months(start, k * months)
            if period_end > END:
                end = None
                break
            if rng.random() < theta:
                end = period_end - dt.timedelta(days=1)
                break
            if months > 1:
                # An annual contract: one row per year, the next starting the day after.
                rows.append([cid, plan, add_months(start, (k - 1) * months), period_end - dt.timedelta(days=1), mrr, owner])
            k += 1
        rows.append([cid, plan, add_months(start, (k - 1) * months if months > 1 else 0), end, mrr, owner])
        # Some lapsed monthly subscribers come back later, as a new subscription.
        if end is not None and months == 1 and rng.random() < 0.15:
            back = end + dt.timedelta(days=rng.randint(60, 240))
            if back < END:
                rows.append([cid, plan, back, None, mrr, owner])
    rows.sort(key=lambda r: (r[2], r[0]))
    with open(os.path.join(here, "subscriptions.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["customer_id", "plan", "start_date", "end_date", "mrr", "owner"])
        for cid, plan, start, end, mrr, owner in rows:
            w.writerow([cid, plan, start.isoformat(), end.isoformat() if end else "", mrr, owner])
    print(f"subscriptions {len(rows)}")


if __name__ == "__main__":
    main()
