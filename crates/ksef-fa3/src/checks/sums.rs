//! Arithmetic as warnings: KSeF does not check sums, but the buyer's accountant does.
//!
//! Line values (P_11 = P_8B × P_9A, P_11A = P_8B × P_9B, either less the discount P_10), net totals per rate group against the
//! lines (P_13_x), VAT per rate group (P_14_x = P_13_x × rate) and the total due (P_15).
//! Each comparison tolerates 0.01 per line involved, for per-line rounding.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::facts::{parse_amount, sum_of, NET_TOTALS, VAT_TOTALS};
use crate::finding::Finding;
use crate::xmltree::Tree;

use super::place;

/// One VAT rate group of the `Fa` totals.
struct RateGroup {
    /// The net total element (P_13_x).
    net: &'static str,
    /// The VAT total element (P_14_x), if the group carries VAT.
    vat: Option<&'static str>,
    /// The P_12 values of lines in this group.
    rates: &'static [&'static str],
    /// The rate (%) to assume when no line says which of `rates` applies.
    default_rate: Option<u32>,
}

const GROUPS: &[RateGroup] = &[
    RateGroup { net: "P_13_1", vat: Some("P_14_1"), rates: &["23", "22"], default_rate: Some(23) },
    RateGroup { net: "P_13_2", vat: Some("P_14_2"), rates: &["8", "7"], default_rate: Some(8) },
    RateGroup { net: "P_13_3", vat: Some("P_14_3"), rates: &["5"], default_rate: Some(5) },
    RateGroup { net: "P_13_4", vat: Some("P_14_4"), rates: &["4", "3"], default_rate: None },
    RateGroup { net: "P_13_6_1", vat: None, rates: &["0 KR"], default_rate: None },
    RateGroup { net: "P_13_6_2", vat: None, rates: &["0 WDT"], default_rate: None },
    RateGroup { net: "P_13_6_3", vat: None, rates: &["0 EX"], default_rate: None },
    RateGroup { net: "P_13_7", vat: None, rates: &["zw"], default_rate: None },
    RateGroup { net: "P_13_8", vat: None, rates: &["np I"], default_rate: None },
    RateGroup { net: "P_13_9", vat: None, rates: &["np II"], default_rate: None },
    RateGroup { net: "P_13_10", vat: None, rates: &["oo"], default_rate: None },
];

/// Invoice types whose lines describe the P_13 totals (settlements and advances do not:
/// their totals are net of advances or describe an order).
const LINES_MAKE_TOTALS: &[&str] = &["VAT", "UPR", "KOR"];

fn cent() -> Decimal {
    Decimal::new(1, 2)
}

/// 0.01 per line, at least 0.01.
fn tolerance(lines: usize) -> Decimal {
    cent() * Decimal::from(lines.max(1))
}

fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn mismatch(code: &'static str, what_pl: &str, what_en: &str, stated: Decimal, computed: Decimal) -> Finding {
    Finding::warning(
        code,
        format!("{what_pl}: podano {stated}, a z wyliczenia wychodzi {computed}. Sprawdź kwoty."),
        format!("{what_en}: stated {stated}, computed {computed}. Check the amounts."),
    )
}

pub(super) fn arithmetic(tree: &Tree, findings: &mut Vec<Finding>) {
    let Some(fa) = tree.at(&["Fa"]) else { return };
    let lines: Vec<usize> = tree.children(fa, "FaWiersz").collect();
    for &line in &lines {
        line_value(tree, line, ("P_11", "P_9A"), "line_net_mismatch", "netto", "net", findings);
        line_value(tree, line, ("P_11A", "P_9B"), "line_gross_mismatch", "brutto", "gross", findings);
    }
    let kind = tree.text_at(fa, &["RodzajFaktury"]).unwrap_or("");
    if LINES_MAKE_TOTALS.contains(&kind) {
        for group in GROUPS {
            group_totals(tree, fa, &lines, group, findings);
        }
    }
    vat_totals(tree, fa, &lines, findings);
    total_due(tree, fa, lines.len(), findings);
}

fn amount(tree: &Tree, parent: usize, name: &str) -> Option<Decimal> {
    tree.text_at(parent, &[name]).and_then(parse_amount)
}

/// `value` = P_8B × `price`, within 0.01.
fn line_value(
    tree: &Tree,
    line: usize,
    (value, price): (&str, &str),
    code: &'static str,
    pl: &str,
    en: &str,
    findings: &mut Vec<Finding>,
) {
    let (Some(stated), Some(quantity), Some(unit)) =
        (amount(tree, line, value), amount(tree, line, "P_8B"), amount(tree, line, price))
    else {
        return;
    };
    let computed = round2(quantity * unit);
    // P_10 is a discount not reflected in the unit price; issuers state it for the whole line
    // or (as official sample 4 does) per unit, so accept the value without it or with either.
    let discount = amount(tree, line, "P_10");
    let matches = |expected: Decimal| (stated - expected).abs() <= cent();
    let discounted =
        discount.is_some_and(|d| matches(computed - d) || matches(round2(quantity * (unit - d))));
    if !matches(computed) && !discounted {
        let number = tree.text_at(line, &["NrWierszaFa"]).unwrap_or("?");
        let node = tree.child(line, value).unwrap_or(line);
        findings.push(place(
            mismatch(
                code,
                &format!("Wartość {pl} w wierszu {number} ({value}) nie równa się ilość × cena ({quantity} × {unit})"),
                &format!("The {en} value of line {number} ({value}) is not quantity × price ({quantity} × {unit})"),
                stated,
                computed,
            ),
            tree,
            node,
        ));
    }
}

/// Whether a line is the "before" state of a corrected line (subtracted from the totals).
fn sign(tree: &Tree, line: usize) -> Decimal {
    if tree.text_at(line, &["StanPrzed"]) == Some("1") {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    }
}

/// P_13_x against the net values of the lines at that rate (only when every line has a net value).
fn group_totals(tree: &Tree, fa: usize, lines: &[usize], group: &RateGroup, findings: &mut Vec<Finding>) {
    let (total, rates) = (group.net, group.rates);
    if lines.is_empty() || lines.iter().any(|&l| amount(tree, l, "P_11").is_none()) {
        return;
    }
    let members: Vec<usize> = lines
        .iter()
        .copied()
        .filter(|&l| tree.text_at(l, &["P_12"]).is_some_and(|r| rates.contains(&r)))
        .collect();
    let computed: Decimal =
        members.iter().filter_map(|&l| amount(tree, l, "P_11").map(|v| v * sign(tree, l))).sum();
    let stated = tree.child(fa, total).map(|n| (n, amount(tree, fa, total).unwrap_or_default()));
    let (node, stated) = match stated {
        Some(found) => found,
        None if members.is_empty() || computed.is_zero() => return,
        None => (fa, Decimal::ZERO),
    };
    if (stated - computed).abs() > tolerance(members.len()) {
        findings.push(place(
            mismatch(
                "net_total_mismatch",
                &format!(
                    "Suma wartości netto dla stawki {} ({total}) nie zgadza się z wierszami faktury",
                    rates.join("/")
                ),
                &format!(
                    "The net total for rate {} ({total}) does not match the invoice lines",
                    rates.join("/")
                ),
                stated,
                computed,
            ),
            tree,
            node,
        ));
    }
}

/// P_14_x = P_13_x × rate; the rate comes from the lines when they agree, else the group default.
fn vat_totals(tree: &Tree, fa: usize, lines: &[usize], findings: &mut Vec<Finding>) {
    for &RateGroup { net, vat, rates, default_rate: default } in GROUPS {
        let (Some(vat), Some(net_amount)) = (vat, amount(tree, fa, net)) else { continue };
        let Some(vat_node) = tree.child(fa, vat) else { continue };
        let stated = amount(tree, fa, vat).unwrap_or_default();
        let line_rates: Vec<&str> =
            lines.iter().filter_map(|&l| tree.text_at(l, &["P_12"])).filter(|r| rates.contains(r)).collect();
        let rate = match line_rates.first() {
            Some(first) if line_rates.iter().all(|r| r == first) => first.parse::<u32>().ok(),
            Some(_) => None,
            None => default,
        };
        let Some(rate) = rate else { continue };
        let computed = round2(net_amount * Decimal::from(rate) / Decimal::from(100));
        if (stated - computed).abs() > tolerance(line_rates.len()) {
            findings.push(place(
                mismatch(
                    "vat_total_mismatch",
                    &format!("Kwota podatku {vat} nie równa się {rate}% od kwoty netto {net} ({net_amount})"),
                    &format!("The VAT amount {vat} is not {rate}% of the net amount {net} ({net_amount})"),
                    stated,
                    computed,
                ),
                tree,
                vat_node,
            ));
        }
    }
}

/// P_15 = all P_13_x + all P_14_x (invoice currency), when any of them is given.
fn total_due(tree: &Tree, fa: usize, line_count: usize, findings: &mut Vec<Finding>) {
    let Some(node) = tree.child(fa, "P_15") else { return };
    let Some(stated) = amount(tree, fa, "P_15") else { return };
    let net = sum_of(tree, fa, NET_TOTALS);
    let vat = sum_of(tree, fa, VAT_TOTALS);
    if net.is_none() && vat.is_none() {
        return;
    }
    let computed = net.unwrap_or_default() + vat.unwrap_or_default();
    if (stated - computed).abs() > tolerance(line_count) {
        findings.push(place(
            mismatch(
                "gross_total_mismatch",
                "Kwota należności ogółem (P_15) nie równa się sumie kwot netto i podatku (P_13_x + P_14_x)",
                "The total due (P_15) is not the sum of the net and VAT totals (P_13_x + P_14_x)",
                stated,
                computed,
            ),
            tree,
            node,
        ));
    }
}
