//! PAC files: `FindProxyForURL(url, host)` evaluated in a sandboxed JavaScript engine.
//!
//! **Why QuickJS (rquickjs), not Boa.** A PAC file comes from the network (WPAD, an
//! AutoConfigURL over plain HTTP), so it is hostile input that happens to be a program. The
//! engine must stop it on three axes: memory, time and stack. rquickjs's `Runtime` has all
//! three: `set_memory_limit` (every allocation of the runtime counts; past it the script gets
//! an "out of memory" error), `set_max_stack_size` (deep recursion becomes a RangeError before
//! the native stack is at risk) and `set_interrupt_handler` (polled by the interpreter, also
//! inside regular expressions; returning true raises an uncatchable error), which is what
//! enforces the time bound here. Boa (checked on docs.rs, `boa_engine::vm::RuntimeLimits`)
//! bounds loop iterations per loop, recursion depth and its value stack, but has no memory cap
//! and no interrupt: `"x".repeat(2**28)` or nested loops each under the iteration limit run
//! unchecked. Boa would also cost several MB of binary; QuickJS is ~1 MB.
//!
//! **The sandbox.** The context has the language (`Object`, `String`, `Math`, `Date`,
//! `RegExp`, `JSON`, `Map`/`Set`, `Promise`) and the PAC helpers, nothing else: QuickJS has no
//! file, network, timer or module access of its own (those live in quickjs-libc, which rquickjs
//! does not build), no module loader is set, and `eval`/every `Function` constructor throw
//! (`prelude.js`), so the only code ever compiled is the PAC text. Promise jobs are never run.
//! The only ways out are the helpers: DNS lookups through a [`Resolver`] (each bounded by
//! [`PacLimits::dns_lookup_time`] and by the time left of the call, cached per engine) and the
//! clock.
//!
//! **Bounds.** Loading (the top-level code of the file) and each call get their own time bound;
//! memory and stack caps hold for the runtime's life. Every failure is a typed [`PacError`]
//! whose text from the script is escaped for terminals.
//!
//! **The helpers.** The Netscape set: `isPlainHostName`, `dnsDomainIs`, `localHostOrDomainIs`,
//! `isResolvable`, `isInNet`, `dnsResolve`, `myIpAddress`, `dnsDomainLevels`, `shExpMatch`,
//! `weekdayRange`, `dateRange`, `timeRange` (and `alert`, a no-op); Microsoft's IPv6 set:
//! `isResolvableEx`, `isInNetEx`, `dnsResolveEx`, `myIpAddressEx`, `sortIpAddressList`,
//! `getClientVersion`, with `FindProxyForURLEx` called instead of `FindProxyForURL` when the
//! file defines it. Where the old definitions are loose:
//! - `isPlainHostName` is false for an IPv6 literal (no dot, but not a name either).
//! - `dnsDomainIs` and `localHostOrDomainIs` ignore ASCII case (host names do);
//!   `shExpMatch` does not (as in browsers), knows `*` and `?` only, and refuses arguments over
//!   [`helpers::MAX_SHEXP_INPUT`] bytes with a RangeError (native code cannot be interrupted);
//!   `isInNetEx` and `sortIpAddressList` likewise refuse lists over
//!   [`helpers::MAX_ADDRESS_LIST`] bytes.
//! - `dnsResolve`/`isResolvable`/`isInNet`/`myIpAddress` are IPv4 (null/false otherwise); the
//!   Ex variants take both families and return `;`-separated lists, IPv6 sorted first.
//! - Ranges are inclusive and wrap when the start is after the end (`weekdayRange("FRI",
//!   "MON")`, `timeRange(22, 6)`, `dateRange("DEC", "FEB")`), except date ranges with a year.
//!   `timeRange(h1, m1, h2, m2)` runs to the end of minute `m2`. A trailing `"GMT"` switches to
//!   UTC; otherwise the engine's local time zone is used.
//!
//! The result string is parsed into typed [`PacChoice`]s (`choice.rs`) and tried in order by
//! [`failover`].

pub mod choice;
pub mod helpers;
pub mod source;

pub use choice::{failover, parse_result, Attempt, ChoiceError, Failover, PacChoice};
pub use helpers::{Resolver, SystemResolver};

use crate::terminal_text::printable;
use helpers::CachedResolver;
use rquickjs::allocator::{Allocator, RustAllocator};
use rquickjs::context::intrinsic;
use rquickjs::context::EvalOptions;
use rquickjs::convert::Coerced;
use rquickjs::{Context, Ctx, Exception, Function, Object, Runtime, Value};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The bounds a PAC script runs within. The defaults are far above what real PAC files need
/// (a 100 KB file decides in well under a millisecond and a few MB) and low enough that a
/// hostile one costs a second and a little memory.
#[derive(Debug, Clone, Copy)]
pub struct PacLimits {
    /// Bytes of PAC text accepted at all (the same bound as any fetched body).
    pub max_script_bytes: usize,
    /// Everything the runtime allocates: compiled code, objects, strings.
    pub memory_bytes: usize,
    /// Native stack the interpreter may use before recursion becomes a RangeError. The thread
    /// running the engine must have this much and a margin (Rust's threads have 2 MiB).
    pub stack_bytes: usize,
    /// Time for the file's top-level code.
    pub load_time: Duration,
    /// Time for one `FindProxyForURL` call, DNS lookups included.
    pub call_time: Duration,
    /// Time for one DNS lookup (also never more than what is left of the call).
    pub dns_lookup_time: Duration,
    /// Bytes of result string accepted (a real one is a few proxies long).
    pub max_result_bytes: usize,
}

impl Default for PacLimits {
    fn default() -> PacLimits {
        PacLimits {
            max_script_bytes: crate::discover::fetch::MAX_BODY,
            memory_bytes: 32 * 1024 * 1024,
            stack_bytes: 512 * 1024,
            load_time: Duration::from_secs(1),
            call_time: Duration::from_secs(1),
            dns_lookup_time: Duration::from_millis(500),
            max_result_bytes: 64 * 1024,
        }
    }
}

/// Which part of the script was running when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The file's top-level code.
    Load,
    /// A `FindProxyForURL` call.
    Call,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Load => "while loading",
            Stage::Call => "in FindProxyForURL",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacError {
    #[error("the PAC file is {size} bytes, more than the limit of {max}")]
    ScriptTooLarge { size: usize, max: usize },
    #[error("the PAC file is not valid JavaScript: {message}")]
    Syntax { message: String },
    #[error("the PAC file defines no FindProxyForURL function")]
    NoFunction,
    #[error("the PAC script threw {stage}: {message}")]
    Threw { stage: Stage, message: String },
    #[error("the PAC script ran longer than its bound of {} s {stage}", bound.as_secs_f64())]
    Timeout { stage: Stage, bound: Duration },
    #[error("the PAC script used more than its memory cap of {cap} bytes {stage}")]
    MemoryLimit { stage: Stage, cap: usize },
    #[error("the PAC script recursed too deeply (stack cap {cap} bytes) {stage}")]
    StackOverflow { stage: Stage, cap: usize },
    #[error("FindProxyForURL returned {kind}, not a string")]
    NotAString { kind: String },
    #[error("FindProxyForURL returned {len} bytes, more than the limit of {max}")]
    ResultTooLong { len: usize, max: usize },
    #[error("the PAC result is not usable: {0}")]
    Result(#[from] ChoiceError),
    #[error(
        "the URL {} cannot be asked about: {reason}",
        crate::terminal_text::quoted(url)
    )]
    Url { url: String, reason: String },
    #[error("the JavaScript engine failed: {0}")]
    Engine(String),
}

/// The clock the date and time helpers read, replaceable so tests are deterministic.
pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The time budget the interrupt handler enforces: a deadline as nanoseconds after `base`,
/// re-armed before each stage. Once it has passed, every poll says "stop", so nothing the
/// script left behind (a hostile `toString` on a thrown object) can run on.
struct Budget {
    base: Instant,
    deadline_nanos: AtomicU64,
    fired: AtomicBool,
}

impl Budget {
    /// Not armed: no deadline until the first stage arms one.
    fn new() -> Budget {
        Budget {
            base: Instant::now(),
            deadline_nanos: AtomicU64::new(u64::MAX),
            fired: AtomicBool::new(false),
        }
    }

    fn elapsed_nanos(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn arm(&self, bound: Duration) {
        let bound = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        self.deadline_nanos
            .store(self.elapsed_nanos().saturating_add(bound), Ordering::SeqCst);
        self.fired.store(false, Ordering::SeqCst);
    }

    fn remaining(&self) -> Duration {
        Duration::from_nanos(
            self.deadline_nanos
                .load(Ordering::SeqCst)
                .saturating_sub(self.elapsed_nanos()),
        )
    }

    /// The interrupt poll.
    fn over(&self) -> bool {
        let over = self.remaining().is_zero();
        if over {
            self.fired.store(true, Ordering::SeqCst);
        }
        over
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst) || self.remaining().is_zero()
    }
}

/// QuickJS polls the interrupt handler only every 10,000 steps of bytecode, so a loop whose
/// every step is one heavy native call (`s = new Array(1e5).join("x")`) runs 10,000 of them
/// between polls: 14 s in a release build for a 1 s bound. What such calls have in common is
/// that they allocate: once the budget is spent every allocation fails, the call throws "out
/// of memory" at once and the loop reaches its next poll, which stops it for good. The memory
/// cap is QuickJS's own accounting above this allocator and holds as before.
struct BudgetedAllocator {
    budget: Arc<Budget>,
}

// SAFETY: every block comes from, and goes back to, rquickjs's own `RustAllocator` (its
// header records the size `usable_size` reads); this wrapper only refuses new memory, which
// QuickJS treats as an allocation failure (a null pointer, the old block left untouched).
unsafe impl Allocator for BudgetedAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if self.budget.over() {
            return std::ptr::null_mut();
        }
        RustAllocator.alloc(size)
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if self.budget.over() {
            return std::ptr::null_mut();
        }
        RustAllocator.calloc(count, size)
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: `ptr` came from `RustAllocator` through this wrapper (the trait's contract).
        unsafe { RustAllocator.dealloc(ptr) }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if new_size > 0 && self.budget.over() {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `dealloc`.
        unsafe { RustAllocator.realloc(ptr, new_size) }
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: as for `dealloc`.
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

/// The function the file defines that will be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryPoint {
    Classic,
    /// Microsoft's IPv6-aware entry point, preferred when present.
    Ex,
}

impl EntryPoint {
    fn name(self) -> &'static str {
        match self {
            EntryPoint::Classic => "FindProxyForURL",
            EntryPoint::Ex => "FindProxyForURLEx",
        }
    }
}

/// A loaded PAC file, ready to answer any number of URLs. Not `Send`: use it on the thread that
/// loaded it.
pub struct PacEngine {
    context: Context,
    // Kept so the runtime outlives the context even if rquickjs's internal reference changes.
    _runtime: Runtime,
    budget: Arc<Budget>,
    limits: PacLimits,
    entry: EntryPoint,
}

/// What one URL was answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacDecision {
    /// The string the script returned, exactly.
    pub raw: String,
    pub choices: Vec<PacChoice>,
    /// `FindProxyForURL` or `FindProxyForURLEx`.
    pub entry_point: &'static str,
}

impl PacEngine {
    /// Compiles and runs the PAC text's top level with the real clock.
    pub fn load(
        script: &str,
        resolver: Arc<dyn Resolver>,
        limits: PacLimits,
    ) -> Result<PacEngine, PacError> {
        PacEngine::load_with_clock(script, resolver, Arc::new(SystemClock), limits)
    }

    pub fn load_with_clock(
        script: &str,
        resolver: Arc<dyn Resolver>,
        clock: Arc<dyn Clock>,
        limits: PacLimits,
    ) -> Result<PacEngine, PacError> {
        if script.len() > limits.max_script_bytes {
            return Err(PacError::ScriptTooLarge {
                size: script.len(),
                max: limits.max_script_bytes,
            });
        }
        let engine_error = |e: rquickjs::Error| PacError::Engine(e.to_string());
        let budget = Arc::new(Budget::new());
        let runtime = Runtime::new_with_alloc(BudgetedAllocator {
            budget: budget.clone(),
        })
        .map_err(engine_error)?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.stack_bytes);
        let poll = budget.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || poll.over())));
        let context = Context::custom::<(
            intrinsic::Date,
            intrinsic::Eval,
            intrinsic::RegExpCompiler,
            intrinsic::RegExp,
            intrinsic::Json,
            intrinsic::MapSet,
            intrinsic::Promise,
        )>(&runtime)
        .map_err(engine_error)?;
        let resolver = Arc::new(CachedResolver::new(resolver));
        budget.arm(limits.load_time);
        let entry = context.with(|ctx| -> Result<EntryPoint, PacError> {
            let fail = |e| classify(&ctx, e, Stage::Load, &budget, &limits);
            install_helpers(&ctx, &resolver, &budget, &limits).map_err(fail)?;
            let prelude: Function = ctx
                .eval_with_options(include_str!("pac/prelude.js"), options("prelude.js"))
                .map_err(fail)?;
            let native = Object::new(ctx.clone()).map_err(fail)?;
            let now = Function::new(ctx.clone(), move || millis_since_epoch(clock.now()))
                .map_err(fail)?;
            native.set("now", now).map_err(fail)?;
            prelude.call::<_, ()>((native,)).map_err(fail)?;
            ctx.eval_with_options::<(), _>(script, options("pac"))
                .map_err(fail)?;
            let globals = ctx.globals();
            let defines = |name: &str| globals.get::<_, Value>(name).is_ok_and(|v| v.is_function());
            if defines(EntryPoint::Ex.name()) {
                Ok(EntryPoint::Ex)
            } else if defines(EntryPoint::Classic.name()) {
                Ok(EntryPoint::Classic)
            } else {
                Err(PacError::NoFunction)
            }
        })?;
        Ok(PacEngine {
            context,
            _runtime: runtime,
            budget,
            limits,
            entry,
        })
    }

    /// Calls the entry point with `url` and `host` as given and returns the string it returned.
    pub fn find_proxy(&self, url: &str, host: &str) -> Result<String, PacError> {
        self.budget.arm(self.limits.call_time);
        let limits = self.limits;
        self.context.with(|ctx| {
            let fail = |e| classify(&ctx, e, Stage::Call, &self.budget, &limits);
            let function: Function = ctx.globals().get(self.entry.name()).map_err(fail)?;
            let result: Value = function.call((url, host)).map_err(fail)?;
            let Some(text) = result.as_string() else {
                return Err(PacError::NotAString {
                    kind: result.type_name().to_string(),
                });
            };
            let text = text.to_string().map_err(fail)?;
            if text.len() > limits.max_result_bytes {
                return Err(PacError::ResultTooLong {
                    len: text.len(),
                    max: limits.max_result_bytes,
                });
            }
            Ok(text)
        })
    }

    /// The decision for `url` as browsers ask for it: the host is the URL's, lower case, without
    /// brackets or port; credentials are never shown to the script, and an `https:` URL is cut
    /// to its origin (`https://host:port/`), since a PAC file may not see paths of encrypted
    /// requests (what Chrome does).
    pub fn decide(&self, url: &str) -> Result<PacDecision, PacError> {
        let (url_for_script, host) = script_view(url)?;
        let raw = self.find_proxy(&url_for_script, &host)?;
        let choices = parse_result(&raw)?;
        Ok(PacDecision {
            raw,
            choices,
            entry_point: self.entry.name(),
        })
    }

    pub fn entry_point(&self) -> &'static str {
        self.entry.name()
    }
}

/// The URL and host a script is given for `url`.
pub fn script_view(url: &str) -> Result<(String, String), PacError> {
    let bad = |reason: &str| PacError::Url {
        url: printable(url),
        reason: reason.to_string(),
    };
    let mut parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(bad("it has no host")),
    };
    // Infallible for URLs with a host; the results are ignored on purpose.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_fragment(None);
    if parsed.scheme() == "https" || parsed.scheme() == "wss" {
        parsed.set_path("/");
        parsed.set_query(None);
    }
    Ok((parsed.to_string(), host))
}

fn options(filename: &str) -> EvalOptions {
    let mut options = EvalOptions::default();
    // PAC files are sloppy-mode scripts (undeclared assignments are common in real ones).
    options.strict = false;
    options.global = true;
    options.filename = Some(filename.to_string());
    options
}

fn millis_since_epoch(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64() * 1000.0,
        Err(before) => -(before.duration().as_secs_f64() * 1000.0),
    }
}

/// Turns an engine failure into what the user is told. The interrupt flag decides a timeout;
/// otherwise the thrown value: QuickJS's "out of memory" and stack-overflow errors, a syntax
/// error while loading, or anything else the script threw.
fn classify(
    ctx: &Ctx<'_>,
    error: rquickjs::Error,
    stage: Stage,
    budget: &Budget,
    limits: &PacLimits,
) -> PacError {
    let allocation_failed = matches!(error, rquickjs::Error::Allocation);
    let thrown = match error {
        rquickjs::Error::Exception => Some(ctx.catch()),
        _ => None,
    };
    // Past the time bound every allocation fails too (BudgetedAllocator): the time is the cause.
    if budget.fired() {
        return PacError::Timeout {
            stage,
            bound: match stage {
                Stage::Load => limits.load_time,
                Stage::Call => limits.call_time,
            },
        };
    }
    if allocation_failed {
        return PacError::MemoryLimit {
            stage,
            cap: limits.memory_bytes,
        };
    }
    let Some(thrown) = thrown else {
        return PacError::Engine(printable(&error.to_string()));
    };
    let (name, message) = describe_thrown(&thrown);
    match (name.as_str(), message.as_str()) {
        (_, "out of memory") => PacError::MemoryLimit {
            stage,
            cap: limits.memory_bytes,
        },
        ("RangeError", "Maximum call stack size exceeded") => PacError::StackOverflow {
            stage,
            cap: limits.stack_bytes,
        },
        ("InternalError", m) if m.starts_with("stack overflow") => PacError::StackOverflow {
            stage,
            cap: limits.stack_bytes,
        },
        ("SyntaxError", _) if stage == Stage::Load => PacError::Syntax {
            message: printable(&message),
        },
        _ => PacError::Threw {
            stage,
            message: printable(&if name.is_empty() {
                message
            } else {
                format!("{name}: {message}")
            }),
        },
    }
}

/// Name and message of a thrown value without running script code: an Error object's own
/// `name`/`message` data, or a primitive's value. A thrown object with getters, or one that is
/// not an Error, is described by its type only.
fn describe_thrown(thrown: &Value<'_>) -> (String, String) {
    if let Some(exception) = thrown.as_exception() {
        let name = exception
            .get::<_, Value>("name")
            .ok()
            .and_then(|v| v.as_string().and_then(|s| s.to_string().ok()))
            .unwrap_or_default();
        return (name, exception.message().unwrap_or_default());
    }
    if let Some(s) = thrown.as_string() {
        return (String::new(), s.to_string().unwrap_or_default());
    }
    if let Some(n) = thrown.as_number() {
        return (String::new(), n.to_string());
    }
    if let Some(b) = thrown.as_bool() {
        return (String::new(), b.to_string());
    }
    (String::new(), format!("a thrown {}", thrown.type_name()))
}

/// The helpers that need Rust: names, addresses, patterns. Each takes its arguments coerced to
/// strings, as browsers' helpers do.
fn install_helpers<'js>(
    ctx: &Ctx<'js>,
    resolver: &Arc<CachedResolver>,
    budget: &Arc<Budget>,
    limits: &PacLimits,
) -> rquickjs::Result<()> {
    let globals = ctx.globals();
    let lookup_bound = limits.dns_lookup_time;
    // Each lookup waits for what is left of the call, at most the per-lookup bound.
    let addresses = {
        let resolver = resolver.clone();
        let budget = budget.clone();
        move |host: &str| -> Vec<IpAddr> {
            resolver.addresses(host, lookup_bound.min(budget.remaining()))
        }
    };
    type Text = Coerced<String>;

    globals.set(
        "isPlainHostName",
        // An IPv6 literal has no dot either, but it is an address, not a plain name.
        Function::new(ctx.clone(), |host: Text| !host.contains(['.', ':']))?,
    )?;
    globals.set(
        "dnsDomainIs",
        Function::new(ctx.clone(), |host: Text, domain: Text| {
            ends_with_ignore_case(&host, &domain)
        })?,
    )?;
    globals.set(
        "localHostOrDomainIs",
        Function::new(ctx.clone(), |host: Text, hostdom: Text| {
            let (host, hostdom) = (host.to_ascii_lowercase(), hostdom.to_ascii_lowercase());
            host == hostdom
                || (!host.contains('.')
                    && hostdom
                        .strip_prefix(host.as_str())
                        .is_some_and(|rest| rest.starts_with('.')))
        })?,
    )?;
    globals.set(
        "dnsDomainLevels",
        Function::new(ctx.clone(), |host: Text| {
            i32::try_from(host.matches('.').count()).unwrap_or(i32::MAX)
        })?,
    )?;
    globals.set(
        "shExpMatch",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, text: Text, pattern: Text| -> rquickjs::Result<bool> {
                if text.len() > helpers::MAX_SHEXP_INPUT || pattern.len() > helpers::MAX_SHEXP_INPUT
                {
                    return Err(Exception::throw_range(
                        &ctx,
                        "shExpMatch: argument longer than 8 KiB",
                    ));
                }
                Ok(helpers::sh_exp_match(&text, &pattern))
            },
        )?,
    )?;
    let lookup = addresses.clone();
    globals.set(
        "isResolvable",
        Function::new(ctx.clone(), move |host: Text| {
            helpers::first_v4(&lookup(&host)).is_some()
        })?,
    )?;
    let lookup = addresses.clone();
    globals.set(
        "isResolvableEx",
        Function::new(ctx.clone(), move |host: Text| !lookup(&host).is_empty())?,
    )?;
    let lookup = addresses.clone();
    globals.set(
        "dnsResolve",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, host: Text| -> rquickjs::Result<Value<'js>> {
                match helpers::first_v4(&lookup(&host)) {
                    Some(ip) => rquickjs::IntoJs::into_js(ip.to_string(), &ctx),
                    None => Ok(Value::new_null(ctx)),
                }
            },
        )?,
    )?;
    let lookup = addresses.clone();
    globals.set(
        "dnsResolveEx",
        Function::new(ctx.clone(), move |host: Text| {
            helpers::join_addresses(&lookup(&host))
        })?,
    )?;
    let lookup = addresses.clone();
    globals.set(
        "isInNet",
        Function::new(ctx.clone(), move |host: Text, pattern: Text, mask: Text| {
            helpers::is_in_net(helpers::first_v4(&lookup(&host)), &pattern, &mask)
        })?,
    )?;
    let lookup = addresses.clone();
    globals.set(
        "isInNetEx",
        Function::new(
            ctx.clone(),
            move |ctx: Ctx<'js>, addresses: Text, prefix: Text| -> rquickjs::Result<bool> {
                if addresses.len() > helpers::MAX_ADDRESS_LIST {
                    return Err(Exception::throw_range(
                        &ctx,
                        "isInNetEx: address list longer than 16 KiB",
                    ));
                }
                // An address, a `;` list of them (what dnsResolveEx returns), or a name.
                let listed: Option<Vec<IpAddr>> = addresses
                    .split(';')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(helpers::parse_ip)
                    .collect();
                let addrs = match listed {
                    Some(list) if !list.is_empty() => list,
                    _ => lookup(addresses.trim()),
                };
                Ok(helpers::is_in_net_ex(&addrs, &prefix))
            },
        )?,
    )?;
    let local = resolver.clone();
    globals.set(
        "myIpAddress",
        Function::new(ctx.clone(), move || {
            helpers::first_v4(&local.local_addresses())
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST)
                .to_string()
        })?,
    )?;
    let local = resolver.clone();
    globals.set(
        "myIpAddressEx",
        Function::new(ctx.clone(), move || {
            helpers::join_addresses(&local.local_addresses())
        })?,
    )?;
    globals.set(
        "sortIpAddressList",
        Function::new(
            ctx.clone(),
            |ctx: Ctx<'js>, list: Text| -> rquickjs::Result<Value<'js>> {
                if list.len() > helpers::MAX_ADDRESS_LIST {
                    return Err(Exception::throw_range(
                        &ctx,
                        "sortIpAddressList: list longer than 16 KiB",
                    ));
                }
                match helpers::sort_ip_list(&list) {
                    Some(sorted) => rquickjs::IntoJs::into_js(sorted, &ctx),
                    None => Ok(Value::new_bool(ctx, false)),
                }
            },
        )?,
    )?;
    Ok(())
}

fn ends_with_ignore_case(host: &str, suffix: &str) -> bool {
    host.len() >= suffix.len()
        && host
            .get(host.len().saturating_sub(suffix.len())..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}
