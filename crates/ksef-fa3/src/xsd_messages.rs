//! libxml2 schema errors turned into findings an accountant can act on (Polish + English).
//!
//! libxml2 reports e.g. `Element '{ns}Fa': Missing child element(s). Expected is ( {ns}P_2 ).`
//! We recognise the common shapes (missing / unexpected element, pattern, enumeration, other
//! facets, invalid value, fixed value, attributes, wrong root) and keep the raw text otherwise.

use libxml::error::StructuredError;

use crate::error::Fa3Error;
use crate::finding::{Finding, Severity, KSEF_FILE_ERROR};
use crate::labels::label;
use crate::xmltree::{self, Tree};

/// Translates libxml2 validation errors; drops the "not a valid value of the atomic type"
/// echo libxml2 adds after a facet error on the same element.
pub(crate) fn translate(errors: &[StructuredError], tree: &Tree, schema: &str) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    for error in errors {
        let finding = one(error, tree, schema);
        let echo = finding.code == "xsd_invalid_value"
            && findings.last().is_some_and(|prev| prev.line == finding.line && prev.path == finding.path);
        if !echo {
            findings.push(finding);
        }
    }
    findings
}

/// A well-formedness error from libxml2's parser (the tree scan is more lenient in places).
pub(crate) fn parse_error(error: &StructuredError) -> Finding {
    let detail = error.message.as_deref().unwrap_or("").trim();
    xmltree::malformed(detail, error.line.and_then(|l| u32::try_from(l).ok()).unwrap_or(1))
}

/// The schema could not be compiled on this thread (should never happen after `load`).
pub(crate) fn internal(err: &Fa3Error) -> Finding {
    Finding::error(
        "xsd_unavailable",
        None,
        format!("Nie można sprawdzić pliku ze schemą: {err}."),
        format!("Cannot validate against the schema: {err}."),
    )
}

/// Element local name, attribute name and the rest of a libxml2 schema message.
struct Parsed<'m> {
    element: &'m str,
    attribute: Option<&'m str>,
    rest: &'m str,
}

fn parse_message(message: &str) -> Option<Parsed<'_>> {
    let after = message.strip_prefix("Element '")?;
    let (qname, rest) = after.split_once('\'')?;
    let element = local(qname);
    let (attribute, rest) = match rest.strip_prefix(", attribute '") {
        Some(with_attr) => {
            let (attr, rest) = with_attr.split_once('\'')?;
            (Some(local(attr)), rest)
        }
        None => (None, rest),
    };
    Some(Parsed { element, attribute, rest: rest.trim_start_matches(':').trim() })
}

/// `{namespace}Name` → `Name`.
fn local(qname: &str) -> &str {
    qname.rsplit_once('}').map_or(qname, |(_, name)| name)
}

/// Local names inside `Expected is ( {ns}A, {ns}B )`.
fn expected(rest: &str) -> Option<String> {
    let start = rest.find("Expected is")?;
    let list = rest[start..].split_once('(')?.1.split_once(')')?.0;
    Some(list.split(',').map(|n| local(n.trim())).collect::<Vec<_>>().join(", "))
}

/// First `'quoted'` value after `marker`.
fn quoted_after<'m>(rest: &'m str, marker: &str) -> Option<&'m str> {
    let start = rest.find(marker)? + marker.len();
    let tail = rest[start..].split_once('\'')?.1;
    Some(tail.split_once('\'')?.0)
}

fn named(name: &str) -> String {
    match label(name) {
        Some(description) => format!("{name} ({description})"),
        None => name.to_owned(),
    }
}

fn one(error: &StructuredError, tree: &Tree, schema: &str) -> Finding {
    let raw = error.message.as_deref().unwrap_or("").trim();
    let line = error.line.and_then(|l| u32::try_from(l).ok());
    let Some(msg) = parse_message(raw) else {
        return generic(raw, schema).at_line(line);
    };
    let node = line.and_then(|l| tree.find_on_line(msg.element, l));
    let path = node.map(|n| tree.path(n));
    let at = path.clone().unwrap_or_else(|| msg.element.to_owned());
    let el = named(msg.element);
    let rest = msg.rest;
    let parent = node.and_then(|n| tree.nodes[n].parent);
    let finding = if rest.starts_with("Missing child element") {
        let exp = expected(rest).unwrap_or_default();
        return missing(&exp, &at).at_line(line).at_path(path.map(|p| child_path(p, &exp)));
    } else if rest.starts_with("This element is not expected") {
        let parent_path = parent.map_or_else(String::new, |p| tree.path(p));
        if let (Some(exp), Some(parent)) = (expected(rest), parent) {
            // libxml2 reports a missing element as "the next one is not expected": say what is missing.
            if exp.split(", ").all(|name| tree.child(parent, name).is_none()) {
                return missing(&exp, &parent_path)
                    .at_line(line)
                    .at_path(Some(child_path(parent_path.clone(), &exp)));
            }
        }
        let (pl_exp, en_exp) = match expected(rest) {
            Some(exp) => (format!(" Oczekiwano: {exp}."), format!(" Expected: {exp}.")),
            None => (
                String::from(" Oczekiwano końca elementu."),
                String::from(" Expected the end of the element."),
            ),
        };
        xsd(
            "xsd_unexpected_element",
            format!("Element {el} jest niedozwolony w tym miejscu w {parent_path} (zła kolejność albo zbędny element).{pl_exp}"),
            format!("Element {} is not allowed here in {parent_path} (wrong order or superfluous).{en_exp}", msg.element),
        )
    } else if let Some(attr) = msg.attribute {
        attribute_finding(attr, &el, msg.element, rest, raw)
    } else if rest.contains("[facet 'pattern']") {
        let value = quoted_after(rest, "The value").unwrap_or("");
        xsd(
            "xsd_pattern",
            format!("Wartość '{value}' w elemencie {el} ma niepoprawny format."),
            format!("The value '{value}' of element {} has an invalid format ({rest}).", msg.element),
        )
    } else if rest.contains("[facet 'enumeration']") {
        let value = quoted_after(rest, "The value").unwrap_or("");
        let set = rest.split_once("set {").and_then(|(_, s)| s.rsplit_once('}')).map_or("", |(s, _)| s);
        xsd(
            "xsd_enumeration",
            format!("Wartość '{value}' w elemencie {el} jest niedozwolona. Dozwolone wartości: {set}."),
            format!("The value '{value}' of element {} is not allowed. Allowed values: {set}.", msg.element),
        )
    } else if rest.contains("[facet '") {
        xsd(
            "xsd_invalid_value",
            format!("Wartość w elemencie {el} przekracza dopuszczalne granice ({}).", facet_pl(rest)),
            format!("The value of element {} is out of bounds: {rest}", msg.element),
        )
    } else if rest.contains("is not a valid value") {
        let value = rest.strip_prefix('\'').and_then(|r| r.split_once('\'')).map_or("", |(v, _)| v);
        xsd(
            "xsd_invalid_value",
            format!("Wartość '{value}' w elemencie {el} jest niepoprawna dla tego pola (np. zły format daty lub kwoty)."),
            format!("The value '{value}' of element {} is not valid for this field: {rest}", msg.element),
        )
    } else if rest.contains("fixed value constraint") {
        let fixed = quoted_after(rest, "constraint").unwrap_or("");
        xsd(
            "xsd_fixed_value",
            format!("Element {el} musi mieć wartość '{fixed}'."),
            format!("Element {} must have the value '{fixed}'.", msg.element),
        )
    } else if rest.contains("No matching global declaration") {
        xsd(
            "xsd_wrong_root",
            format!(
                "Element główny {el} nie pasuje do schemy {schema} (zły element główny lub przestrzeń nazw)."
            ),
            format!(
                "The root element {} does not match the {schema} schema (wrong root or namespace).",
                msg.element
            ),
        )
    } else {
        generic(raw, schema)
    };
    finding.at_line(line).at_path(path)
}

/// "Missing element" finding; `expected` lists local names, `at` is the parent's path.
fn missing(expected: &str, at: &str) -> Finding {
    let what = if expected.contains(", ") {
        format!("jednego z elementów: {expected}")
    } else {
        format!("elementu {}", named(expected))
    };
    xsd(
        "xsd_missing_element",
        format!("Brak wymaganego {what} w {at}."),
        format!("Missing required element {expected} in {at}."),
    )
}

/// Path of the missing child when exactly one was expected, else the parent's path.
fn child_path(parent: String, expected: &str) -> String {
    if expected.is_empty() || expected.contains(", ") {
        parent
    } else {
        format!("{parent}/{expected}")
    }
}

fn attribute_finding(attr: &str, el: &str, element: &str, rest: &str, raw: &str) -> Finding {
    if rest.contains("is required but missing") {
        xsd(
            "xsd_missing_attribute",
            format!("Brak wymaganego atrybutu {attr} w elemencie {el}."),
            format!("Missing required attribute {attr} on element {element}."),
        )
    } else if rest.contains("is not allowed") {
        xsd(
            "xsd_unexpected_attribute",
            format!("Atrybut {attr} jest niedozwolony w elemencie {el}."),
            format!("Attribute {attr} is not allowed on element {element}."),
        )
    } else if rest.contains("fixed value constraint") {
        let fixed = quoted_after(rest, "constraint").unwrap_or("");
        xsd(
            "xsd_fixed_value",
            format!("Atrybut {attr} elementu {el} musi mieć wartość '{fixed}'."),
            format!("Attribute {attr} of element {element} must have the value '{fixed}'."),
        )
    } else {
        xsd(
            "xsd_invalid_value",
            format!("Niepoprawna wartość atrybutu {attr} elementu {el}: {raw}"),
            format!("Invalid value of attribute {attr} of element {element}: {raw}"),
        )
    }
}

/// Polish gloss of libxml2's facet names.
fn facet_pl(rest: &str) -> &'static str {
    let facet = rest.split_once("[facet '").and_then(|(_, f)| f.split_once('\'')).map_or("", |(f, _)| f);
    match facet {
        "maxLength" => "tekst jest za długi",
        "minLength" => "tekst jest za krótki lub pusty",
        "length" => "tekst ma niewłaściwą długość",
        "totalDigits" => "za dużo cyfr",
        "fractionDigits" => "za dużo miejsc po przecinku",
        "minInclusive" | "minExclusive" => "wartość jest za mała",
        "maxInclusive" | "maxExclusive" => "wartość jest za duża",
        _ => "niezgodność ze schemą",
    }
}

fn xsd(code: &'static str, pl: String, en: String) -> Finding {
    Finding::error(code, Some(KSEF_FILE_ERROR), pl, en)
}

fn generic(raw: &str, schema: &str) -> Finding {
    xsd(
        "xsd_invalid",
        format!("Niezgodność ze schemą {schema}: {raw}"),
        format!("Not valid against the {schema} schema: {raw}"),
    )
}

/// Turns the official TE/DEMO receiver name in a UPO into a warning (see `UpoSchema::validate`).
pub(crate) fn soften_upo_receiver(findings: Vec<Finding>, tree: &Tree) -> Vec<Finding> {
    let receiver = tree.at(&["NazwaPodmiotuPrzyjmujacego"]).map(|n| tree.text(n).to_owned());
    findings
        .into_iter()
        .map(|f| {
            let is_receiver = f.code == "xsd_fixed_value"
                && f.path.as_deref().is_some_and(|p| p.ends_with("/NazwaPodmiotuPrzyjmujacego"));
            match (&receiver, is_receiver) {
                (Some(name), true) if name.starts_with("Ministerstwo Finansów - ") => Finding {
                    code: "upo_test_environment_receiver",
                    severity: Severity::Warning,
                    ksef_status: None,
                    message_pl: format!("UPO wystawione przez środowisko nieprodukcyjne KSeF: \"{name}\"."),
                    message_en: format!("UPO issued by a non-production KSeF environment: \"{name}\"."),
                    ..f
                },
                _ => f,
            }
        })
        .collect()
}
