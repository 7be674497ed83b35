//! Parsers for the value formats CRM exports actually contain: dates in half a dozen shapes, Excel
//! serial numbers, money with currency symbols and thousands separators, order statuses in English
//! and Chinese. Each parser works on one trimmed cell and never panics; the caller turns a failure
//! into an error that names the file, row and column.

mod dates;

pub use dates::{
    day_month_evidence, excel_serial, fitting_date_formats, parse_date, parse_with_format,
    suggest_date_formats, DateParse, DayMonthOrder, ExcelEpoch, Stamp,
};

/// Parses a money amount: `1234.5`, `¥1,234.50`, `￥1234`, `$1,234`, `-$5`, `(33.52)`, `1.2万`,
/// `RMB 100`, `100元`, and with `decimal_comma` `1.234,56`. Returns None for anything else,
/// including NaN and infinities.
pub fn parse_money(raw: &str, decimal_comma: bool) -> Option<f64> {
    let s = raw.trim();
    if !decimal_comma {
        if let Ok(v) = s.parse::<f64>() {
            return v.is_finite().then_some(v);
        }
    }
    let mut negative = false;
    let mut body = s;
    if body.starts_with('(') && body.ends_with(')') && body.len() >= 2 {
        negative = true;
        body = &body[1..body.len() - 1];
    }
    let mut multiplier = 1.0;
    for (suffix, factor) in [
        ("万元", 1e4),
        ("万", 1e4),
        ("亿元", 1e8),
        ("亿", 1e8),
        ("元", 1.0),
    ] {
        if let Some(rest) = body.trim_end().strip_suffix(suffix) {
            body = rest;
            multiplier = factor;
            break;
        }
    }
    if !decimal_comma && !thousands_commas(body) {
        return None;
    }
    // With decimal commas a dot groups thousands, so it stands before exactly three digits:
    // `100.00` is a dot decimal, not ten thousand (read as 10000 before, silently).
    if decimal_comma && !separators_before_three_digits(body, b'.') {
        return None;
    }
    let mut cleaned = String::with_capacity(body.len());
    let mut seen_digit = false;
    for c in body.chars() {
        match c {
            '0'..='9' => {
                seen_digit = true;
                cleaned.push(c);
            }
            '-' | '−' => {
                if seen_digit {
                    // A trailing minus (`100-`), as some ERP exports write negatives.
                    if !cleaned.ends_with(['e', 'E']) {
                        negative = !negative;
                        continue;
                    }
                    cleaned.push('-');
                } else {
                    negative = !negative;
                }
            }
            '+' => {}
            '.' if decimal_comma => {}
            ',' if decimal_comma => cleaned.push('.'),
            '.' => cleaned.push('.'),
            ',' | '_' | '\'' | ' ' | '\u{a0}' | '\u{202f}' => {}
            'e' | 'E' if seen_digit => cleaned.push(c),
            '¥' | '￥' | '$' | '€' | '£' | '₩' | '₹' => {}
            c if c.is_ascii_alphabetic() && !seen_digit => {} // RMB, CNY, USD, US$
            _ => return None,
        }
    }
    if !seen_digit {
        return None;
    }
    let value: f64 = cleaned.parse().ok()?;
    let value = value * multiplier;
    if !value.is_finite() {
        return None;
    }
    Some(if negative { -value } else { value })
}

/// Whether every comma of an amount is a thousands separator: followed by exactly three digits
/// (`1,234.50`), or by two and another comma (the Indian `1,00,000`). `1,5` is not: a decimal
/// comma, which needs `--decimal-comma`.
/// Every `sep` in `body` stands after a digit and before exactly three digits.
fn separators_before_three_digits(body: &str, sep: u8) -> bool {
    let b = body.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == sep)
        .all(|(i, _)| {
            let run = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            i > 0 && b[i - 1].is_ascii_digit() && run == 3
        })
}

/// Whether an amount that does not read with `--decimal-comma` reads as a dot decimal
/// (`100.00`): the flag is then wrong for this file.
pub fn looks_like_dot_decimal(raw: &str) -> bool {
    let s = raw.trim();
    s.contains('.') && parse_money(s, true).is_none() && parse_money(s, false).is_some()
}

fn thousands_commas(body: &str) -> bool {
    let b = body.as_bytes();
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == b',')
        .all(|(i, _)| {
            let run = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let preceded = i > 0 && b[i - 1].is_ascii_digit();
            preceded && (run == 3 || (run == 2 && b.get(i + 3) == Some(&b',')))
        })
}

/// Whether an unreadable amount looks written with a decimal comma (`1,5`, `12,50`).
pub fn looks_like_decimal_comma(raw: &str) -> bool {
    let s = raw.trim();
    s.contains(',') && !thousands_commas(s) && parse_money(s, true).is_some()
}

/// A yes/no cell: true/false, yes/no, y/n, t/f, 1/0, 是/否, 真/假 (any case). None otherwise.
pub fn parse_flag(raw: &str) -> Option<bool> {
    let word = raw.trim().to_lowercase();
    if FLAG_TRUE.contains(&word.as_str()) {
        Some(true)
    } else if FLAG_FALSE.contains(&word.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// The yes and no words of [`parse_flag`] (trimmed, lower-case), also read by `crm-eval sql`.
/// Cells that stand for "not answered" in CRM and form exports (and pandas' NaN written as
/// text): missing, not a value — a feature's missing level, a group's `(unknown)`.
pub const PLACEHOLDERS: &[&str] = &[
    "",
    "select",
    "na",
    "n/a",
    "nan",
    "null",
    "-",
    "?",
    "请选择",
    "未选择",
];

/// Whether a cell is missing (empty or a placeholder), compared trimmed and lower-cased.
pub fn is_placeholder(cell: &str) -> bool {
    let c = cell.trim().to_lowercase();
    PLACEHOLDERS.contains(&c.as_str())
}

/// A grouping cell's value, trimmed; `None` (grouped as `(unknown)`) when it is empty or a
/// placeholder such as `NaN`, `null` or `N/A`.
pub fn group_value(cell: &str) -> Option<&str> {
    (!is_placeholder(cell)).then(|| cell.trim())
}

pub const FLAG_TRUE: &[&str] = &["true", "t", "yes", "y", "1", "1.0", "是", "真", "√"];
pub const FLAG_FALSE: &[&str] = &["false", "f", "no", "n", "0", "0.0", "否", "假", "×"];

/// The yes/no words recognised, for error messages.
pub const FLAG_WORDS: &str = "true/false, yes/no, 1/0, 是/否";

/// The parse of each distinct word of a column with few of them (statuses, event types): a word
/// is parsed once and found again by a short scan, cheaper than hashing millions of short
/// strings; past 16 distinct words (a column of something else) a hash map takes over.
pub struct WordCache<'a, T> {
    /// (word, its first 8 bytes as a number, value): the number rules most words out without a
    /// byte-by-byte comparison (stage and status words often share a length).
    few: Vec<(&'a str, u64, T)>,
    many: std::collections::HashMap<&'a str, T>,
}

/// The first 8 bytes of a word, zero padded, as one number.
fn head(word: &str) -> u64 {
    let b = word.as_bytes();
    let mut h = [0u8; 8];
    let n = b.len().min(8);
    h[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(h)
}

impl<'a, T: Copy> WordCache<'a, T> {
    pub fn new() -> Self {
        WordCache {
            few: Vec::new(),
            many: std::collections::HashMap::new(),
        }
    }

    pub fn get(&mut self, word: &'a str, parse: impl FnOnce(&str) -> T) -> T {
        let h = head(word);
        if let Some((_, _, v)) = self
            .few
            .iter()
            .find(|(w, wh, _)| *wh == h && w.len() == word.len() && *w == word)
        {
            return *v;
        }
        if self.few.len() < 16 {
            let v = parse(word);
            self.few.push((word, h, v));
            return v;
        }
        *self.many.entry(word).or_insert_with(|| parse(word))
    }
}

impl<T: Copy> Default for WordCache<'_, T> {
    fn default() -> Self {
        WordCache::new()
    }
}

/// What an order status means for net spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Paid,
    Refunded,
    Cancelled,
    /// Placed but not paid (pending, 待付款): not revenue yet, so not an order for RFM.
    Unpaid,
}

impl OrderStatus {
    /// The code of the status in a loaded orders table (the canonical `status` column holds
    /// these, not the words: four states in 4 bytes a row instead of a string each).
    pub fn code(self) -> u32 {
        match self {
            OrderStatus::Paid => 0,
            OrderStatus::Refunded => 1,
            OrderStatus::Cancelled => 2,
            OrderStatus::Unpaid => 3,
        }
    }

    pub fn from_code(code: u32) -> Option<OrderStatus> {
        Some(match code {
            0 => OrderStatus::Paid,
            1 => OrderStatus::Refunded,
            2 => OrderStatus::Cancelled,
            3 => OrderStatus::Unpaid,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Unpaid => "unpaid",
        }
    }

    /// The status words recognised, for error messages.
    pub const ACCEPTED: &'static str =
        "paid/completed/已付款/已完成/成交, refunded/returned/已退款/退货, \
        cancelled/void/已取消/作废, pending/unpaid/待付款";

    /// The words of each status (compared trimmed and lowercased), written once for the
    /// input layer and for the SQL (`crate::sql`), which maps a warehouse's words the same way.
    pub const WORDS: [(OrderStatus, &'static [&'static str]); 4] = [
        (
            OrderStatus::Paid,
            &[
                "paid",
                "completed",
                "complete",
                "success",
                "successful",
                "succeeded",
                "closed",
                "won",
                "closed won",
                "shipped",
                "delivered",
                "fulfilled",
                "settled",
                "ok",
                "已付款",
                "已支付",
                "已完成",
                "完成",
                "成交",
                "已成交",
                "交易成功",
                "已发货",
                "已签收",
                "已收货",
                "支付成功",
                "付款成功",
                "已结算",
                "赢单",
            ],
        ),
        (
            OrderStatus::Refunded,
            &[
                "refunded",
                "refund",
                "returned",
                "return",
                "chargeback",
                "partially refunded",
                "已退款",
                "退款",
                "退货",
                "已退货",
                "退款成功",
                "退货退款",
            ],
        ),
        (
            OrderStatus::Cancelled,
            &[
                "cancelled",
                "canceled",
                "cancel",
                "void",
                "voided",
                "failed",
                "rejected",
                "closed lost",
                "lost",
                "已取消",
                "取消",
                "作废",
                "已作废",
                "交易关闭",
                "已关闭",
                "关闭",
                "失败",
                "输单",
            ],
        ),
        (
            OrderStatus::Unpaid,
            &[
                "pending",
                "unpaid",
                "awaiting payment",
                "open",
                "draft",
                "待付款",
                "未付款",
                "待支付",
                "未支付",
                "待审核",
                "草稿",
            ],
        ),
    ];

    pub fn parse(raw: &str) -> Option<OrderStatus> {
        let s = raw.trim().to_lowercase();
        Self::WORDS
            .iter()
            .find(|(_, words)| words.contains(&s.as_str()))
            .map(|(status, _)| *status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn suggested_date_formats_parse_the_value_they_were_made_for() {
        for (value, day_first, month_first) in [
            ("12/1/2010 08:26", "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"),
            ("03.04.2024", "%d.%m.%Y", "%m.%d.%Y"),
            (
                "3/4/24 8:26:59 PM",
                "%d/%m/%y %I:%M:%S %p",
                "%m/%d/%y %I:%M:%S %p",
            ),
            (
                "03-04-2024T08:26:59.250",
                "%d-%m-%YT%H:%M:%S%.f",
                "%m-%d-%YT%H:%M:%S%.f",
            ),
        ] {
            let [d, m] = suggest_date_formats(value).expect(value);
            assert_eq!(
                (d.as_str(), m.as_str()),
                (day_first, month_first),
                "{value}"
            );
            for format in [&d, &m] {
                assert!(
                    matches!(parse_with_format(value, format), DateParse::Ok(_)),
                    "{value} with {format}"
                );
            }
        }
        assert_eq!(suggest_date_formats("2024-03-04"), None);
        // Only the orders that read the value: 23 is no month.
        assert_eq!(
            fitting_date_formats("02/23/26"),
            [("%m/%d/%y".to_string(), "month first")]
        );
        assert_eq!(
            fitting_date_formats("02/23/26 08:55 PM"),
            [("%m/%d/%y %I:%M %p".to_string(), "month first")]
        );
        assert_eq!(fitting_date_formats("03/04/2024").len(), 2);
        assert_eq!(suggest_date_formats("soon"), None);
    }

    #[test]
    fn word_cache_parses_each_word_once_few_or_many() {
        let words: Vec<String> = (0..40).map(|i| format!("w{}", i % 20)).collect();
        let mut parses = 0;
        let mut cache = WordCache::new();
        for w in &words {
            let v = cache.get(w, |s| {
                parses += 1;
                s.len()
            });
            assert_eq!(v, w.len());
        }
        assert_eq!(
            parses, 20,
            "20 distinct words, past the 16 kept for scanning"
        );
    }

    fn day(y: i32, m: u32, d: u32) -> i32 {
        crate::day::Day::from_date(NaiveDate::from_ymd_opt(y, m, d).unwrap()).days()
    }

    fn ok_day(s: &str) -> i32 {
        match parse_date(s, DayMonthOrder::Unknown, ExcelEpoch::Excel1900) {
            DateParse::Ok(st) => st.days,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn dates_in_every_documented_shape() {
        let expected = day(2024, 1, 5);
        for s in [
            "2024-01-05",
            "2024-1-5",
            "2024/1/5",
            "2024.01.05",
            "20240105",
            "2024年1月5日",
            "2024-01-05 13:45:10",
            "2024-01-05T13:45:10.123Z",
            "2024/01/05 1:05 PM",
            "5 Jan 2024",
            "Jan 5, 2024",
            "05-Jan-2024",
            "45296",
            "45296.75",
            " 2024-01-05 ",
        ] {
            assert_eq!(ok_day(s), expected, "{s}");
        }
    }

    #[test]
    fn time_of_day_and_offsets() {
        let DateParse::Ok(st) = parse_date(
            "2024-01-05T23:30:00+08:00",
            DayMonthOrder::Unknown,
            ExcelEpoch::Excel1900,
        ) else {
            panic!()
        };
        assert_eq!(st.millis, (23 * 3600 + 30 * 60) * 1000);
        assert_eq!(st.offset_secs, Some(8 * 3600));
        // 23:30 in Beijing is 15:30 UTC the same day, and 01:30 the next day at UTC+10.
        assert_eq!(st.in_zone(Some(0)).days, day(2024, 1, 5));
        assert_eq!(st.in_zone(Some(0)).millis, (15 * 3600 + 30 * 60) * 1000);
        assert_eq!(st.in_zone(Some(10 * 3600)).days, day(2024, 1, 6));
        let DateParse::Ok(pm) = parse_date(
            "2024/1/5 12:15 AM",
            DayMonthOrder::Unknown,
            ExcelEpoch::Excel1900,
        ) else {
            panic!()
        };
        assert_eq!(pm.millis, 15 * 60 * 1000);
    }

    #[test]
    fn excel_serials_follow_both_date_systems() {
        // 1900 system: 1 = 1900-01-01, 59 = 1900-02-28, 61 = 1900-03-01, 60 is the phantom leap day.
        assert_eq!(ok_day("1"), day(1900, 1, 1));
        assert_eq!(ok_day("59"), day(1900, 2, 28));
        assert_eq!(ok_day("61"), day(1900, 3, 1));
        assert!(matches!(
            parse_date("60", DayMonthOrder::Unknown, ExcelEpoch::Excel1900),
            DateParse::Invalid(_)
        ));
        // 1904 system: 0 = 1904-01-01; the same date is 1462 days less than in the 1900 system.
        let DateParse::Ok(st) = parse_date("43830", DayMonthOrder::Unknown, ExcelEpoch::Excel1904)
        else {
            panic!()
        };
        assert_eq!(st.days, day(2024, 1, 1));
    }

    #[test]
    fn day_month_order_is_never_guessed() {
        assert!(matches!(
            parse_date("05/01/2024", DayMonthOrder::Unknown, ExcelEpoch::Excel1900),
            DateParse::Ambiguous { .. }
        ));
        assert_eq!(
            parse_date("05/01/2024", DayMonthOrder::DayFirst, ExcelEpoch::Excel1900),
            DateParse::Ok(Stamp::from_date(
                NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()
            ))
        );
        assert_eq!(
            parse_date(
                "05/01/2024",
                DayMonthOrder::MonthFirst,
                ExcelEpoch::Excel1900
            ),
            DateParse::Ok(Stamp::from_date(
                NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()
            ))
        );
        // A day above 12 decides by itself.
        assert_eq!(ok_day("25/12/2024"), day(2024, 12, 25));
        assert_eq!(ok_day("12/25/2024"), day(2024, 12, 25));
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for s in [
            "2024-02-30",
            "2024-13-01",
            "hello",
            "2024-01-05 25:00",
            "31/31/2024",
            "-5",
        ] {
            assert!(
                matches!(
                    parse_date(s, DayMonthOrder::Unknown, ExcelEpoch::Excel1900),
                    DateParse::Invalid(_)
                ),
                "{s}"
            );
        }
    }

    #[test]
    fn explicit_formats() {
        assert_eq!(
            parse_with_format("05.01.24", "%d.%m.%y"),
            DateParse::Ok(Stamp::from_date(
                NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()
            ))
        );
        assert!(matches!(
            parse_with_format("2024-01-05", "%d.%m.%y"),
            DateParse::Invalid(_)
        ));
    }

    #[test]
    fn money_in_export_formats() {
        let cases = [
            ("1234.5", 1234.5),
            ("¥1,234.50", 1234.5),
            ("￥1234", 1234.0),
            ("$1,234", 1234.0),
            ("-$5.25", -5.25),
            ("$-5.25", -5.25),
            ("(33.52)", -33.52),
            ("1.2万", 12000.0),
            ("3亿元", 3e8),
            ("RMB 100", 100.0),
            ("100元", 100.0),
            ("1e3", 1000.0),
            ("100-", -100.0),
        ];
        for (s, v) in cases {
            assert_eq!(parse_money(s, false), Some(v), "{s}");
        }
        assert_eq!(parse_money("1.234,56", true), Some(1234.56));
        assert_eq!(parse_money("1.234.567,5", true), Some(1234567.5));
        // A dot decimal under --decimal-comma is refused, not read as 10000.
        assert_eq!(parse_money("100.00", true), None);
        assert_eq!(parse_money("1.5", true), None);
        assert!(looks_like_dot_decimal("100.00") && !looks_like_dot_decimal("1.234,5"));
        assert_eq!(parse_money("€ 1.234,56", true), Some(1234.56));
        for s in ["", "abc", "NaN", "inf", "12abc", "1.2.3"] {
            assert_eq!(parse_money(s, false), None, "{s}");
        }
        // A comma is a thousands separator only before three digits (or the Indian 2-digit
        // groups); `1,5` is a decimal comma and needs --decimal-comma.
        assert_eq!(parse_money("1,00,000", false), Some(100000.0));
        assert_eq!(parse_money("$1,234,567.89", false), Some(1234567.89));
        for s in ["1,5", "12,50", "1,2345", ",5", "1,23,4"] {
            assert_eq!(parse_money(s, false), None, "{s}");
        }
        assert!(looks_like_decimal_comma("1,5") && looks_like_decimal_comma("12,50"));
        assert!(!looks_like_decimal_comma("abc") && !looks_like_decimal_comma("1,234"));
        assert_eq!(parse_money("1,5", true), Some(1.5));
    }

    #[test]
    fn statuses_in_english_and_chinese() {
        assert_eq!(OrderStatus::parse("Paid"), Some(OrderStatus::Paid));
        assert_eq!(OrderStatus::parse("已完成"), Some(OrderStatus::Paid));
        assert_eq!(OrderStatus::parse("已退款"), Some(OrderStatus::Refunded));
        assert_eq!(OrderStatus::parse("Canceled"), Some(OrderStatus::Cancelled));
        assert_eq!(OrderStatus::parse("待付款"), Some(OrderStatus::Unpaid));
        assert_eq!(OrderStatus::parse("shipped?"), None);
    }
}
