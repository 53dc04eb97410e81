//! A log source compiled from its settings: which objects it claims, and how
//! a parsed record becomes an `events` row.

mod convert;
mod pattern;

use std::borrow::Cow;
use std::collections::HashMap;

use adhouse_core::event::{Dimension, Event, EventType};
use adhouse_core::settings::{FieldRule, Format, MoneyUnit, SourceSettings, TenantRule};

pub use adhouse_core::money::money_micros;
pub use convert::{TimeFormat, decode_component, decode_passes, query_param, raw_query_param, user_hash};
pub use pattern::KeyPattern;

use crate::text::{same_name, split_at, split_once_at};

/// A configured log source, validated.
#[derive(Debug)]
pub struct Source {
    pub name: String,
    pub bucket: String,
    pub pattern: KeyPattern,
    /// The key pattern as configured, for messages.
    pub pattern_text: String,
    pub format: Format,
    /// Declared CSV/TSV columns (empty: the file's header row names them).
    pub columns: Vec<String>,
    pub mapping_version: u32,
    pub mapping: Mapping,
}

/// Why a record was rejected; `reason` is a stable code stored in
/// `ingest_errors.reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: &'static str,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: &'static str, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into() }
    }
}

/// Per-object values every row of the object shares.
#[derive(Debug, Clone, Copy)]
pub struct ObjectContext<'a> {
    /// Tenant captured from the key (`""` if the pattern has none).
    pub tenant: &'a str,
    pub source: &'a str,
    /// `s3://bucket/key`.
    pub file: &'a str,
}

#[derive(Debug)]
pub struct Mapping {
    /// The source fields the mapping reads; a parsed record holds their
    /// values in this order ("slots").
    pub fields: Vec<String>,
    tenant: Input,
    rules: Vec<Rule>,
    /// For each slot holding a URL query string: the parameters rules take
    /// from it, with the rule's index, so one pass per record finds them all.
    query_params: Vec<(usize, Vec<(String, usize)>)>,
}

/// Most percent-decodings a rule may ask for; no log format needs more than
/// two, and a larger number is a typo.
const MAX_DECODE_PASSES: u8 = 3;

/// Columns a source can map (every dimension but `source`, and six more):
/// the upper bound on a mapping's rules.
const MAPPABLE_COLUMNS: usize = Dimension::ALL.len() - 1 + 6;

#[derive(Debug)]
enum Input {
    Slot(usize),
    Joined(Vec<usize>),
    Constant(String),
    TenantFromKey,
}

#[derive(Debug)]
struct Rule {
    /// The `events` column, for messages.
    column: String,
    target: Target,
    input: Input,
    query: Option<String>,
    /// Rounds of percent-decoding of the value (of the query parameter).
    decode: u8,
    values: Option<HashMap<String, String>>,
    default: Option<String>,
}

#[derive(Debug)]
enum Target {
    Ts(TimeFormat),
    /// The rule's `values`, resolved to event types when compiled: a short
    /// scan of names per row instead of hashing the value for the map and
    /// then matching the name it gives (the rule keeps no map of its own).
    EventType(Vec<(String, EventType)>),
    Text(Dimension),
    UserIdHash,
    Revenue(MoneyUnit),
    Cost(MoneyUnit),
    ErrorCode,
}


impl Source {
    /// Validates `settings`; errors name the offending key.
    pub fn compile(settings: &SourceSettings) -> Result<Self, String> {
        let at = |key: &str, problem: String| format!("ingest.sources[{}].{key}: {problem}", settings.name);
        if settings.name.is_empty() {
            return Err("ingest.sources: a source has an empty name".into());
        }
        let pattern = KeyPattern::parse(&settings.key_pattern).map_err(|e| at("key_pattern", e))?;
        if matches!(settings.tenant, TenantRule::FromKey(true)) && !pattern.captures_tenant() {
            return Err(at("tenant", "from_key needs {tenant} in key_pattern".into()));
        }
        if !settings.columns.is_empty() && !matches!(settings.format, Format::Csv | Format::Tsv) {
            return Err(at("columns", "only CSV and TSV sources declare columns".into()));
        }
        let mut fields = Vec::new();
        let tenant = match &settings.tenant {
            TenantRule::FromKey(true) => Input::TenantFromKey,
            TenantRule::FromKey(false) => return Err(at("tenant", "from_key = false names no tenant".into())),
            TenantRule::Constant(tenant) if tenant.is_empty() => return Err(at("tenant", "empty constant".into())),
            TenantRule::Constant(tenant) => Input::Constant(tenant.clone()),
            TenantRule::Field(field) => Input::Slot(slot(&mut fields, field)),
        };
        let mut rules = Vec::new();
        for (column, rule) in &settings.fields {
            let rule = compile_rule(column, rule, &mut fields).map_err(|e| at(&format!("fields.{column}"), e))?;
            rules.push(rule);
        }
        if let Some(missing) = fields.iter().find(|f| !settings.columns.is_empty() && !settings.columns.contains(f)) {
            return Err(at("columns", format!("the mapping reads {missing:?}, which is not a declared column")));
        }
        for required in ["ts", "event_type"] {
            if !settings.fields.contains_key(required) {
                return Err(at("fields", format!("`{required}` must be mapped")));
            }
        }
        Ok(Self {
            name: settings.name.clone(),
            bucket: settings.bucket.clone(),
            pattern,
            pattern_text: settings.key_pattern.clone(),
            format: settings.format,
            columns: settings.columns.clone(),
            mapping_version: settings.mapping_version,
            mapping: Mapping { fields, tenant, query_params: query_params(&rules), rules },
        })
    }
}

fn query_params(rules: &[Rule]) -> Vec<(usize, Vec<(String, usize)>)> {
    let mut groups: Vec<(usize, Vec<(String, usize)>)> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        if let (Some(param), Input::Slot(slot)) = (&rule.query, &rule.input) {
            match groups.iter_mut().find(|(s, _)| s == slot) {
                Some((_, wanted)) => wanted.push((param.clone(), index)),
                None => groups.push((*slot, vec![(param.clone(), index)])),
            }
        }
    }
    groups
}

fn slot(fields: &mut Vec<String>, name: &str) -> usize {
    fields.iter().position(|f| f == name).unwrap_or_else(|| {
        fields.push(name.to_owned());
        fields.len() - 1
    })
}

fn compile_rule(column: &str, rule: &FieldRule, fields: &mut Vec<String>) -> Result<Rule, String> {
    let input = match (&rule.field, &rule.fields, &rule.constant) {
        (Some(field), None, None) => Input::Slot(slot(fields, field)),
        (None, Some(joined), None) if !joined.is_empty() => {
            Input::Joined(joined.iter().map(|field| slot(fields, field)).collect())
        }
        (None, None, Some(constant)) => Input::Constant(constant.clone()),
        _ => return Err("set exactly one of `field`, `fields` (non-empty) or `constant`".into()),
    };
    if rule.query.is_some() && !matches!(input, Input::Slot(_)) {
        return Err("`query` reads a query string held by one `field`".into());
    }
    // A query parameter is decoded once by default (its query string's own
    // encoding); any other value is taken as written unless told.
    let decode = rule.decode.unwrap_or(u8::from(rule.query.is_some()));
    if decode > MAX_DECODE_PASSES {
        return Err(format!("`decode` is a number of percent-decodings, at most {MAX_DECODE_PASSES}"));
    }
    let money = |unit: Option<MoneyUnit>| unit.ok_or("money columns need `money` = \"units\", \"cpm\" or \"micros\"");
    let mut target = match column {
        "ts" => Target::Ts(TimeFormat::parse_spec(
            rule.time.as_deref().ok_or("`ts` needs `time` = rfc3339, epoch_s, epoch_ms or a strftime pattern")?,
        )?),
        "event_type" => Target::EventType(Vec::new()),
        "user_id_hash" => Target::UserIdHash,
        "revenue_micros" => Target::Revenue(money(rule.money)?),
        "cost_micros" => Target::Cost(money(rule.money)?),
        "error_code" => Target::ErrorCode,
        other => match Dimension::by_name(other).filter(|d| *d != Dimension::Source) {
            Some(dimension) => Target::Text(dimension),
            None => {
                let known: Vec<_> = ["ts", "event_type", "user_id_hash", "revenue_micros", "cost_micros", "error_code"]
                    .into_iter()
                    .chain(Dimension::ALL.iter().filter(|d| **d != Dimension::Source).map(|d| d.name()))
                    .collect();
                return Err(format!("not an events column; mappable columns: {}", known.join(", ")));
            }
        },
    };
    if rule.time.is_some() && !matches!(target, Target::Ts(_)) {
        return Err("`time` applies to `ts` only".into());
    }
    if rule.money.is_some() && !matches!(target, Target::Revenue(_) | Target::Cost(_)) {
        return Err("`money` applies to revenue_micros and cost_micros only".into());
    }
    let mut values = rule.values.as_ref().map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    if let (Target::EventType(types), Some(names)) = (&mut target, &rule.values) {
        for (from, to) in names {
            let Some(event_type) = EventType::from_name(to) else {
                return Err(format!("values.{from} = {to:?} is not an event type"));
            };
            types.push((from.clone(), event_type));
        }
        values = None;
    }
    Ok(Rule { column: column.to_owned(), target, input, query: rule.query.clone(), decode, values, default: rule.default.clone() })
}

/// The source that claims `key` in `bucket`, and the tenant its key
/// pattern captured (`""` if it has none); the first match wins.
pub fn source_for<'s, 'k>(sources: &'s [Source], bucket: &str, key: &'k str) -> Option<(&'s Source, &'k str)> {
    sources.iter().find_map(|source| {
        let tenant = (source.bucket == bucket).then(|| source.pattern.matches(key)).flatten()?;
        Some((source, tenant))
    })
}

impl Mapping {
    /// The `events` columns the rules compute, in the settings' order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|rule| rule.column.as_str())
    }

    /// The row [`Mapping::apply_to`] maps the records of one object into:
    /// what no rule sets (an unmapped column, `source`, `file`) keeps these
    /// values.
    pub fn blank<'a>(&self, object: ObjectContext<'a>) -> Event<'a> {
        Event {
            tenant: Cow::Borrowed(""),
            ts: time::OffsetDateTime::UNIX_EPOCH,
            event_type: EventType::Request,
            publisher_id: Cow::Borrowed(""),
            placement_id: Cow::Borrowed(""),
            demand_partner: Cow::Borrowed(""),
            campaign_id: Cow::Borrowed(""),
            creative_id: Cow::Borrowed(""),
            ad_format: Cow::Borrowed(""),
            country: Cow::Borrowed(""),
            device_type: Cow::Borrowed(""),
            os: Cow::Borrowed(""),
            domain: Cow::Borrowed(""),
            user_id_hash: 0,
            revenue_micros: 0,
            cost_micros: 0,
            error_code: 0,
            source: Cow::Borrowed(object.source),
            file: Cow::Borrowed(object.file),
            line: 0,
        }
    }

    /// The `events` row of one record. `values` holds the record's value of
    /// each slot of [`Mapping::fields`], `None` where absent.
    pub fn apply<'a>(
        &'a self,
        values: &[Option<Cow<'a, str>>],
        object: ObjectContext<'a>,
        line: u64,
    ) -> Result<Event<'a>, Rejection> {
        let mut event = self.blank(object);
        self.apply_to(values, object, line, &mut event)?;
        Ok(event)
    }

    /// [`Mapping::apply`] into `event`, a [`Mapping::blank`] row of the same
    /// object reused from record to record: the hot path builds no row per
    /// record, whose moves (a row is 400 bytes) were most of the ingester's
    /// `memmove`. Every column a rule maps, the tenant and the line are set
    /// on success, so nothing of an earlier record survives into the row;
    /// after a rejection `event` is partly overwritten and must not be used.
    pub fn apply_to<'a>(
        &'a self,
        values: &[Option<Cow<'a, str>>],
        object: ObjectContext<'a>,
        line: u64,
        event: &mut Event<'a>,
    ) -> Result<(), Rejection> {
        event.line = line;
        event.tenant = read(&self.tenant, values, object)
            .filter(|tenant| !tenant.is_empty())
            .ok_or_else(|| Rejection::new("missing_field", "no tenant"))?;
        let mut params: [Option<&'a str>; MAPPABLE_COLUMNS] = [None; MAPPABLE_COLUMNS];
        for (slot, wanted) in &self.query_params {
            if let Some(Cow::Borrowed(query)) = values[*slot] {
                for pair in split_at(query.strip_prefix('?').unwrap_or(query), b'&') {
                    let (key, raw) = split_once_at(pair, b'=').unwrap_or((pair, ""));
                    // Every rule that reads this parameter: two columns may map the same one.
                    for (_, rule) in wanted.iter().filter(|(param, _)| same_name(param, key)) {
                        params[*rule].get_or_insert(raw);
                    }
                }
            }
        }
        for (rule, param) in self.rules.iter().zip(params) {
            apply_rule(rule, param, values, object, event)?;
        }
        Ok(())
    }
}

/// Inlined into each rule: a call per rule, with the registers the join
/// needs saved and restored, cost more than the copy of a borrowed value it
/// nearly always is.
#[inline(always)]
fn read<'a>(input: &'a Input, values: &[Option<Cow<'a, str>>], object: ObjectContext<'a>) -> Option<Cow<'a, str>> {
    match input {
        Input::Slot(slot) => values[*slot].clone(),
        Input::Joined(slots) => joined(slots, values),
        Input::Constant(constant) => Some(Cow::Borrowed(constant)),
        Input::TenantFromKey => Some(Cow::Borrowed(object.tenant)),
    }
}

/// The values of `slots` joined by a space; one allocation per row (W3C's
/// `date` + `time`), not a vector and a string.
#[inline(never)]
fn joined<'a>(slots: &[usize], values: &[Option<Cow<'a, str>>]) -> Option<Cow<'a, str>> {
    let mut joined = String::with_capacity(32);
    for (i, slot) in slots.iter().enumerate() {
        if i > 0 {
            joined.push(' ');
        }
        joined.push_str(values[*slot].as_deref()?);
    }
    Some(Cow::Owned(joined))
}

/// `param`: the rule's query parameter, already found in a borrowed query
/// string (an owned one, rare, is searched here).
fn apply_rule<'a>(
    rule: &'a Rule,
    param: Option<&'a str>,
    values: &[Option<Cow<'a, str>>],
    object: ObjectContext<'a>,
    event: &mut Event<'a>,
) -> Result<(), Rejection> {
    let mut value = read(&rule.input, values, object);
    if let (Some(name), Some(raw)) = (&rule.query, &value) {
        value = match raw {
            Cow::Borrowed(_) => param.map(Cow::Borrowed),
            Cow::Owned(query) => raw_query_param(query, name).map(|v| Cow::Owned(v.to_owned())),
        };
    }
    // `+` is a space in a query string's values only.
    let value = value.map(|value| decode_passes(value, rule.decode, rule.query.is_some()));
    let value = match value.filter(|v| !v.is_empty()) {
        Some(value) => value,
        None => match &rule.default {
            Some(default) => Cow::Borrowed(default.as_str()),
            None => return Err(missing(rule)),
        },
    };
    let value = match rule.values.as_ref().and_then(|values| values.get(value.as_ref())) {
        Some(mapped) => Cow::Borrowed(mapped.as_str()),
        None => value,
    };
    match &rule.target {
        Target::Ts(format) => {
            event.ts = format
                .parse(&value)
                .and_then(convert::millis_to_datetime)
                .ok_or_else(|| invalid("bad_timestamp", "unparsable timestamp", &value))?;
        }
        Target::EventType(types) => {
            event.event_type = match types.iter().find(|(from, _)| same_name(from, &value)) {
                Some((_, event_type)) => *event_type,
                None => EventType::from_name(&value).ok_or_else(|| invalid("unknown_enum", "unknown event type", &value))?,
            };
        }
        Target::Text(dimension) => *event.dimension_mut(*dimension) = value,
        Target::UserIdHash => event.user_id_hash = user_hash(&value),
        Target::Revenue(unit) => {
            event.revenue_micros =
                money_micros(&value, *unit).ok_or_else(|| invalid("bad_number", "invalid amount", &value))?;
        }
        Target::Cost(unit) => {
            event.cost_micros =
                money_micros(&value, *unit).ok_or_else(|| invalid("bad_number", "invalid amount", &value))?;
        }
        Target::ErrorCode => {
            event.error_code = value.parse().map_err(|_| invalid("bad_number", "invalid error code", &value))?;
        }
    }
    Ok(())
}

/// Rejections are built out of line: the rule loop then keeps its values in
/// registers instead of where a closure over them could read them.
#[cold]
#[inline(never)]
fn missing(rule: &Rule) -> Rejection {
    let what = match &rule.query {
        Some(param) => format!("query parameter {param:?} for {}", rule.column),
        None => format!("value for {}", rule.column),
    };
    Rejection::new("missing_field", format!("no {what}"))
}

#[cold]
#[inline(never)]
fn invalid(reason: &'static str, what: &str, value: &str) -> Rejection {
    Rejection::new(reason, format!("{what} {value:?}"))
}

