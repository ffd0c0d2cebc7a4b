//! The typed model of an iptables ruleset, as `iptables-save` presents it.
//!
//! Names follow the kernel and iptables: a [`Ruleset`] holds [`Table`]s, a table holds
//! [`Chain`]s, a chain holds [`Rule`]s; a rule is a list of [`Match`]es and an optional
//! [`Target`]. Every option that iptables lets you negate with `!` is a [`Neg<T>`].
//! The model is purely syntactic-but-typed: it says what a rule *is*, not how a packet
//! meets it (that is `pktpath-engine`'s job).

use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// Where a construct came from in its source text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A value with an optional `!` in front of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Neg<T> {
    pub negated: bool,
    pub value: T,
}

impl<T> Neg<T> {
    pub fn new(value: T) -> Self {
        Neg {
            negated: false,
            value,
        }
    }
    pub fn not(value: T) -> Self {
        Neg {
            negated: true,
            value,
        }
    }
}

/// The five iptables tables, in the order `iptables-save` prints them does not matter;
/// their hook priorities are the engine's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableName {
    Raw,
    Mangle,
    Nat,
    Filter,
    Security,
}

impl TableName {
    pub const ALL: [TableName; 5] = [
        TableName::Raw,
        TableName::Mangle,
        TableName::Nat,
        TableName::Filter,
        TableName::Security,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TableName::Raw => "raw",
            TableName::Mangle => "mangle",
            TableName::Nat => "nat",
            TableName::Filter => "filter",
            TableName::Security => "security",
        }
    }
    pub fn parse(s: &str) -> Option<TableName> {
        TableName::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// The built-in chains this table has, in iptables-save order.
    pub fn builtin_chains(self) -> &'static [&'static str] {
        match self {
            TableName::Raw => &["PREROUTING", "OUTPUT"],
            TableName::Mangle => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            TableName::Nat => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
            TableName::Filter => &["INPUT", "FORWARD", "OUTPUT"],
            TableName::Security => &["INPUT", "FORWARD", "OUTPUT"],
        }
    }
}

/// A whole `iptables-save` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ruleset {
    pub tables: Vec<Table>,
}

impl Ruleset {
    pub fn table(&self, name: TableName) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
    pub fn table_mut(&mut self, name: TableName) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: TableName,
    /// Chains in declaration order (the `:NAME POLICY [p:b]` lines).
    pub chains: Vec<Chain>,
    pub pos: Pos,
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        self.chains.iter_mut().find(|c| c.name == name)
    }
}

/// Packet and byte counters, `[packets:bytes]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// A built-in chain's policy. User-defined chains have none (`-` in iptables-save).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    Accept,
    Drop,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub name: String,
    /// `Some` for built-in chains, `None` for user chains (`-`).
    pub policy: Option<Policy>,
    pub counters: Counters,
    pub rules: Vec<Rule>,
    pub pos: Pos,
}

/// One `-A CHAIN ...` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `[p:b]` prefix when the file was saved with `-c`.
    pub counters: Option<Counters>,
    /// `-s`
    pub src: Option<Neg<AddrMask>>,
    /// `-d`
    pub dst: Option<Neg<AddrMask>>,
    /// `-i`
    pub in_iface: Option<Neg<IfaceName>>,
    /// `-o`
    pub out_iface: Option<Neg<IfaceName>>,
    /// `-p`
    pub proto: Option<Neg<Protocol>>,
    /// `-f` (Some(false) = `-f`, Some(true) = `! -f`)
    pub fragment: Option<Neg<()>>,
    /// `-m NAME ...` in the order written (includes the implicit `-m tcp` etc.).
    pub matches: Vec<Match>,
    /// `-j` / `-g`; `None` for a rule with no target (it only counts).
    pub target: Option<Target>,
    pub pos: Pos,
}

/// An IPv4 address and netmask as `-s`/`-d` hold them (`struct ipt_ip`'s `src`/`smsk`).
/// The mask is usually a prefix (`/24`), but iptables takes any dotted mask
/// (`/255.0.255.0`) and the kernel tests `(addr & mask) == net` (ip_packet_match()).
/// The address is kept ANDed with the mask, as iptables stores it (`-s 1.2.3.4/255.0.255.0`
/// is saved as `-s 1.0.3.0/255.0.255.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrMask {
    // Big-endian bytes (alignment 1): a rule holds two of these, and rules are many.
    net: [u8; 4],
    mask: [u8; 4],
}

impl AddrMask {
    /// `addr` under `mask`; the address bits outside the mask are dropped.
    pub fn new(addr: Ipv4Addr, mask: u32) -> AddrMask {
        AddrMask {
            net: (u32::from(addr) & mask).to_be_bytes(),
            mask: mask.to_be_bytes(),
        }
    }
    /// `addr/len` (`len` above 32 counts as 32).
    pub fn from_prefix(addr: Ipv4Addr, len: u8) -> AddrMask {
        AddrMask::new(addr, prefix_mask(len))
    }
    /// The (masked) address.
    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.net)
    }
    /// The masked address as a number (host order).
    #[inline]
    pub fn addr_bits(&self) -> u32 {
        u32::from_be_bytes(self.net)
    }
    /// The mask as a number (host order).
    #[inline]
    pub fn mask(&self) -> u32 {
        u32::from_be_bytes(self.mask)
    }
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask)
    }
    /// The prefix length, when the mask is one (`None` for `255.0.255.0`).
    pub fn prefix_len(&self) -> Option<u8> {
        let m = self.mask();
        let ones = m.leading_ones();
        (ones + m.trailing_zeros() >= 32).then_some(ones as u8)
    }
    /// 0.0.0.0/0: every address.
    pub fn is_any(&self) -> bool {
        self.mask() == 0
    }
    /// 1.2.3.4/32: one address.
    pub fn is_host(&self) -> bool {
        self.mask() == u32::MAX
    }
    /// ip_packet_match(): `(a & mask) == net`.
    #[inline]
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        u32::from(a) & self.mask() == self.addr_bits()
    }
}

/// The mask of a prefix length (`/0` is 0; above 32 counts as 32).
pub fn prefix_mask(len: u8) -> u32 {
    match len {
        0 => 0,
        l => u32::MAX << (32 - u32::from(l.min(32))),
    }
}

impl From<Ipv4Net> for AddrMask {
    fn from(n: Ipv4Net) -> AddrMask {
        AddrMask::from_prefix(n.addr(), n.prefix_len())
    }
}

/// As iptables-save prints `-s`/`-d`: `addr/len` for a prefix mask (`/32` included), else
/// `addr/dotted.mask` (xtables_ipmask_to_numeric).
impl std::fmt::Display for AddrMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.prefix_len() {
            Some(len) => write!(f, "{}/{}", self.addr(), len),
            None => write!(f, "{}/{}", self.addr(), self.netmask()),
        }
    }
}

/// An interface name as `-i`/`-o` take it: exact, or a prefix ending in `+`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IfaceName {
    /// The name without a trailing `+`.
    pub name: String,
    /// `true` when written with a trailing `+` (matches any name starting with `name`).
    pub wildcard: bool,
}

/// `-p` value. Printed by name when iptables knows the name (tcp, udp, icmp, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `-p all` / `-p 0`
    All,
    Tcp,
    Udp,
    Icmp,
    /// any other number (`-p 47`, `-p gre`, `-p esp` are stored by number)
    Number(u8),
}

impl Protocol {
    /// The canonical value for a protocol number (`6` is [`Protocol::Tcp`], ...).
    pub fn from_number(n: u8) -> Protocol {
        match n {
            0 => Protocol::All,
            1 => Protocol::Icmp,
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            n => Protocol::Number(n),
        }
    }
    pub fn number(self) -> u8 {
        match self {
            Protocol::All => 0,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Icmp => 1,
            Protocol::Number(n) => n,
        }
    }
}

/// An inclusive port range; a single port has `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub fn single(p: u16) -> Self {
        PortRange { lo: p, hi: p }
    }
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }
}

/// TCP flag bits, kernel values (`FIN=0x01 ... CWR=0x80`).
pub type TcpFlagBits = u8;

/// `--tcp-flags MASK COMP` (`--syn` is stored as `FIN,SYN,RST,ACK SYN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    pub mask: TcpFlagBits,
    pub comp: TcpFlagBits,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct TcpMatch {
    pub sport: Option<Neg<PortRange>>,
    pub dport: Option<Neg<PortRange>>,
    pub flags: Option<Neg<TcpFlags>>,
    /// `--tcp-option N`
    pub option: Option<Neg<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct UdpMatch {
    pub sport: Option<Neg<PortRange>>,
    pub dport: Option<Neg<PortRange>>,
}

/// `--icmp-type`: `any`, a type, or type/code. `code: None` = any code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpType {
    Any,
    Type { ty: u8, code: Option<u8> },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiportMatch {
    pub kind: MultiportKind,
    pub negated: bool,
    pub ports: Vec<PortRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MultiportKind {
    /// `--sports`
    Source,
    /// `--dports`
    Destination,
    /// `--ports` (either)
    Either,
}

/// Address types of `-m addrtype` (kernel's RTN_* values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrType {
    Unspec,
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Nat,
    Xresolve,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct AddrTypeMatch {
    pub src_type: Option<Neg<Vec<AddrType>>>,
    pub dst_type: Option<Neg<Vec<AddrType>>>,
    pub limit_iface_in: bool,
    pub limit_iface_out: bool,
}

/// Conntrack states (`--ctstate`, `--state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtState {
    Invalid,
    New,
    Established,
    Related,
    Untracked,
    Snat,
    Dnat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtStatus {
    Expected,
    SeenReply,
    Assured,
    Confirmed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtDir {
    Original,
    Reply,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct ConntrackMatch {
    pub state: Option<Neg<Vec<CtState>>>,
    pub status: Option<Neg<Vec<CtStatus>>>,
    pub proto: Option<Neg<Protocol>>,
    pub orig_src: Option<Neg<Ipv4Net>>,
    pub orig_dst: Option<Neg<Ipv4Net>>,
    pub repl_src: Option<Neg<Ipv4Net>>,
    pub repl_dst: Option<Neg<Ipv4Net>>,
    pub orig_src_port: Option<Neg<PortRange>>,
    pub orig_dst_port: Option<Neg<PortRange>>,
    pub repl_src_port: Option<Neg<PortRange>>,
    pub repl_dst_port: Option<Neg<PortRange>>,
    pub dir: Option<CtDir>,
    /// `--ctexpire lo[:hi]` (seconds)
    pub expire: Option<Neg<(u32, u32)>>,
}

/// `mark` / `connmark`: `--mark value[/mask]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MarkMatch {
    pub negated: bool,
    pub value: u32,
    pub mask: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatisticMode {
    /// `--mode random --probability P` (P kept as iptables prints it, with 11 decimals)
    Random { probability: ProbabilityText },
    /// `--mode nth --every N [--packet P]`
    Nth { every: u32, packet: u32 },
}

/// A probability exactly as written, plus its value scaled like the kernel does
/// (`prob * 0x80000000` rounded, compared with `prandom_u32() & 0x7FFFFFFF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbabilityText {
    /// `0x80000000 * p`, as xt_statistic stores it.
    pub kernel_value: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatisticMatch {
    pub negated: bool,
    pub mode: StatisticMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecentCommand {
    Set,
    Rcheck,
    Update,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecentMatch {
    pub negated: bool,
    pub command: RecentCommand,
    pub name: String,
    /// `--rsource` (default) / `--rdest`
    pub rdest: bool,
    pub seconds: Option<u32>,
    pub reap: bool,
    pub hitcount: Option<u32>,
    pub rttl: bool,
    pub mask: Option<Ipv4Addr>,
}

/// `-m limit --limit N/unit --limit-burst B`, stored as the kernel does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitMatch {
    /// events per `per` unit
    pub rate: u32,
    pub per: RateUnit,
    pub burst: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
    Day,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct IpRangeMatch {
    pub src: Option<Neg<(Ipv4Addr, Ipv4Addr)>>,
    pub dst: Option<Neg<(Ipv4Addr, Ipv4Addr)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct PhysdevMatch {
    pub in_dev: Option<Neg<IfaceName>>,
    pub out_dev: Option<Neg<IfaceName>>,
    pub is_in: Option<Neg<()>>,
    pub is_out: Option<Neg<()>>,
    pub is_bridged: Option<Neg<()>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct OwnerMatch {
    pub uid: Option<Neg<(u32, u32)>>,
    pub gid: Option<Neg<(u32, u32)>>,
    pub socket_exists: Option<Neg<()>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PktType {
    /// `unicast` (also accepted as `host`; kernel PACKET_HOST)
    Unicast,
    Broadcast,
    Multicast,
    /// `otherhost` (kernel PACKET_OTHERHOST)
    OtherHost,
}

/// `-m hashlimit`, as xt_hashlimit revision 3 stores it (packet or byte rates;
/// `--hashlimit-rate-match` is not supported).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HashLimitMatch {
    /// `--hashlimit-above` (XT_HASHLIMIT_INVERT); `false` is `--hashlimit-upto`.
    pub above: bool,
    /// A byte rate (`--hashlimit-upto 1mb/s`, XT_HASHLIMIT_BYTES).
    pub bytes: bool,
    /// Packet rates: the average period between packets, in 1/1000000 s
    /// (XT_HASHLIMIT_SCALE_v2). Byte rates: the cost of 16 bytes (XT_HASHLIMIT_BYTE_SHIFT),
    /// `u32::MAX / (bytes_per_second / 16 + 1)` as libxt_hashlimit's bytes_to_cost()
    /// computes it.
    pub avg: u64,
    /// Packet rates: the burst in packets. Byte rates: the burst in multiples of the
    /// per-second byte rate, rounded up (0 without `--hashlimit-burst`).
    pub burst: u64,
    /// `--hashlimit-mode` parts.
    pub src_ip: bool,
    pub src_port: bool,
    pub dst_ip: bool,
    pub dst_port: bool,
    pub name: String,
    /// `--hashlimit-htable-size`, `-max` (0 = kernel default)
    pub htable_size: u32,
    pub htable_max: u32,
    /// `--hashlimit-htable-gcinterval` in ms (default 1000)
    pub gc_interval: u32,
    /// `--hashlimit-htable-expire` in ms (default: the rate's unit)
    pub expire: u32,
    /// `--hashlimit-srcmask`/`--hashlimit-dstmask` (default 32)
    pub srcmask: u8,
    pub dstmask: u8,
}

/// `-m connlimit`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnlimitMatch {
    /// `--connlimit-upto N` (XT_CONNLIMIT_INVERT); `false` is `--connlimit-above N`.
    pub upto: bool,
    pub limit: u32,
    /// `--connlimit-mask` prefix length (default 32)
    pub mask: u8,
    /// `--connlimit-daddr` (group by destination); `false` is `--connlimit-saddr`.
    pub daddr: bool,
}

/// `-m rpfilter` (flags as in xt_rpfilter)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RpfilterMatch {
    pub loose: bool,
    pub validmark: bool,
    pub accept_local: bool,
    pub invert: bool,
}

/// `-m sctp` (xt_sctp_info). Unlike tcp/udp, a full port range is kept (sctp_save prints
/// `--dport 0:65535` back).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct SctpMatch {
    pub sport: Option<Neg<PortRange>>,
    pub dport: Option<Neg<PortRange>>,
    /// `[!] --chunk-types all|any|only CHUNKS`
    pub chunks: Option<Neg<SctpChunks>>,
}

/// How `--chunk-types` combines its chunk types (SCTP_CHUNK_MATCH_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SctpChunkMatch {
    Any,
    All,
    Only,
}

/// The chunk part of an sctp match, as xt_sctp_info stores it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SctpChunks {
    pub match_type: SctpChunkMatch,
    /// The chunk types (bit `t % 32` of word `t / 32`, SCTP_CHUNKMAP_SET); all clear is
    /// `NONE`, all set is `ALL`.
    pub chunkmap: [u32; 8],
    /// Flag conditions (`DATA:Ie`), at most 4 (XT_NUM_SCTP_FLAGS), in the order given.
    pub flags: Vec<SctpFlagInfo>,
}

impl SctpChunks {
    pub fn has(&self, chunk_type: u8) -> bool {
        self.chunkmap[usize::from(chunk_type / 32)] & (1 << (chunk_type % 32)) != 0
    }
}

/// One `struct xt_sctp_flag_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SctpFlagInfo {
    /// What libxt_sctp stores here: the chunk's index in its name table
    /// (`sctp_chunk_names[]`), not the chunk type. The two agree for DATA..SHUTDOWN_COMPLETE
    /// (types 0-14); for later names (I_DATA, ASCONF, ...) the flags never print back, as
    /// with iptables-save.
    pub chunk_type: u8,
    /// Flag bits that must be set (upper-case letters).
    pub flag: u8,
    /// Flag bits looked at (upper- and lower-case letters).
    pub flag_mask: u8,
}

/// One `-m NAME ...` block (also the implicit protocol matches).
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    Tcp(TcpMatch),
    Udp(UdpMatch),
    Icmp(Neg<IcmpType>),
    Multiport(MultiportMatch),
    /// Boxed, like the other large variants, to keep `Match` small (big rulesets hold
    /// hundreds of thousands of matches).
    AddrType(Box<AddrTypeMatch>),
    Conntrack(Box<ConntrackMatch>),
    /// `-m state --state ...`
    State(Neg<Vec<CtState>>),
    Mark(MarkMatch),
    Connmark(MarkMatch),
    Comment(String),
    Statistic(StatisticMatch),
    Recent(Box<RecentMatch>),
    Limit(LimitMatch),
    IpRange(IpRangeMatch),
    Physdev(Box<PhysdevMatch>),
    /// `-m mac --mac-source`
    Mac(Neg<[u8; 6]>),
    Owner(OwnerMatch),
    PktType(Neg<PktType>),
    /// `-m hashlimit` (revision 3, packet rates only)
    HashLimit(Box<HashLimitMatch>),
    /// `-m connlimit`
    Connlimit(ConnlimitMatch),
    /// `-m rpfilter`
    Rpfilter(RpfilterMatch),
    /// `-m sctp` (boxed: large)
    Sctp(Box<SctpMatch>),
    /// A match module the model does not know. Kept verbatim so it prints back; the engine
    /// treats it as "may match" (see the lenient loader).
    Unknown {
        name: String,
        args: Vec<String>,
    },
}

/// `--reject-with` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectWith {
    IcmpNetUnreachable,
    IcmpHostUnreachable,
    IcmpPortUnreachable,
    IcmpProtoUnreachable,
    IcmpNetProhibited,
    IcmpHostProhibited,
    IcmpAdminProhibited,
    TcpReset,
}

/// A NAT range as `--to-destination`/`--to-source` take it:
/// `[ipaddr[-ipaddr]][:port[-port[/base]]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatRange {
    pub addr: Option<(Ipv4Addr, Ipv4Addr)>,
    pub ports: Option<PortRange>,
    /// A shifted port range `lo-hi/base` (NF_NAT_RANGE_PROTO_OFFSET): the new port is
    /// `lo + (port - base) % (hi - lo + 1)`. The value is what the kernel holds
    /// (`base_proto`): DNAT keeps the base, SNAT keeps the flag but not the base, so
    /// `--to-source a:1000-2000/3000` is `Some(0)` (iptables-save prints `/0`).
    pub base: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NatFlags {
    pub random: bool,
    pub random_fully: bool,
    pub persistent: bool,
    /// MASQUERADE `--to-ports lo-hi/base`: NF_NAT_RANGE_PROTO_OFFSET is kept but the
    /// base is not (the kernel uses 0; iptables-save prints `/0`). Always false for the
    /// other targets (DNAT/SNAT keep it in [`NatRange::base`]).
    pub proto_offset: bool,
}

/// `MARK`/`CONNMARK` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkAction {
    /// `--set-xmark value/mask` (iptables-save prints every set form this way)
    SetXmark {
        value: u32,
        mask: u32,
    },
    /// `--and-mark`, `--or-mark`, `--xor-mark` are saved as set-xmark too; kept for input
    And(u32),
    Or(u32),
    Xor(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnmarkAction {
    SetXmark {
        value: u32,
        mask: u32,
    },
    /// `--save-mark --nfmask M --ctmask M`
    Save {
        nfmask: u32,
        ctmask: u32,
    },
    /// `--restore-mark --nfmask M --ctmask M`
    Restore {
        nfmask: u32,
        ctmask: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct LogOptions {
    pub prefix: Option<String>,
    pub level: Option<u8>,
    pub tcp_sequence: bool,
    pub tcp_options: bool,
    pub ip_options: bool,
    pub uid: bool,
    /// `--log-macdecode`
    pub macdecode: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct NflogOptions {
    pub group: Option<u16>,
    pub prefix: Option<String>,
    pub range: Option<u32>,
    /// `--nflog-size N` (copy length, XT_NFLOG_F_COPY_LEN)
    pub size: Option<u32>,
    pub threshold: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpMssAction {
    SetMss(u16),
    ClampToPmtu,
}

/// `-j CT` options other than `--notrack` (which is [`Target::Notrack`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct CtTarget {
    /// `--helper NAME` (conntrack helper to assign, e.g. `ftp`)
    pub helper: Option<String>,
    /// `--zone N`
    pub zone: Option<u16>,
}

/// What `-j`/`-g` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Accept,
    Drop,
    Return,
    Reject(RejectWith),
    /// `-j CHAIN`
    Jump(String),
    /// `-g CHAIN`
    Goto(String),
    Log(LogOptions),
    Nflog(NflogOptions),
    Mark(MarkAction),
    Connmark(ConnmarkAction),
    Dnat {
        range: NatRange,
        flags: NatFlags,
    },
    Snat {
        range: NatRange,
        flags: NatFlags,
    },
    Masquerade {
        ports: Option<PortRange>,
        flags: NatFlags,
    },
    Redirect {
        ports: Option<PortRange>,
        flags: NatFlags,
    },
    /// `-j NOTRACK` or `-j CT --notrack` (`ct_syntax` remembers which, for printing)
    Notrack {
        ct_syntax: bool,
    },
    Trace,
    /// `-j CT` without `--notrack`: `[--helper NAME] [--zone N]`.
    Ct(CtTarget),
    ChecksumFill,
    TcpMss(TcpMssAction),
    /// A target the model does not know, kept verbatim.
    Unknown {
        name: String,
        args: Vec<String>,
    },
}
