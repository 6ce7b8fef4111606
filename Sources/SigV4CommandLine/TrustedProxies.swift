#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The proxies in front of `sigv4 serve` whose word on where a request came from it believes
/// (`--trusted-proxy`), and what the gateway tells its upstream and its access log from that.
///
/// A client's `X-Forwarded-For` is its own claim, so by default the gateway drops it and sends only
/// the address of its connection's peer. Behind a load balancer that peer is the balancer; listing it
/// here keeps the balancer's `X-Forwarded-For` chain, with the peer appended, and its
/// `X-Forwarded-Proto`. The client the access log names is the rightmost address of the chain that
/// is not a trusted proxy (the first hop nothing trusted vouches past).
///
/// ```swift
/// let trusted = try TrustedProxies(["10.0.0.0/8", "::1"])
/// let hop = trusted.forwarding(peer: "10.1.2.3", forwardedFor: ["203.0.113.7"], forwardedProto: ["https"])
/// hop.forwardedFor // "203.0.113.7, 10.1.2.3"
/// hop.proto // "https"
/// hop.client // "203.0.113.7"
/// ```
package struct TrustedProxies: Sendable, Equatable {
    /// One address range: an IPv4 or IPv6 network and its prefix length.
    package struct Range: Sendable, Equatable, CustomStringConvertible {
        /// The network's bytes: 4 for IPv4, 16 for IPv6.
        package var network: [UInt8]
        /// Leading bits that must match (0 to 32, or 0 to 128).
        package var prefixLength: Int

        /// A range from `10.0.0.0/8`, `192.0.2.1` (one address), `fd00::/8` or `::1`.
        /// `CLIError.usage` for anything else, bits set past the prefix included (`10.0.0.1/8`).
        package init(_ text: String) throws(CLIError) {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let address = TrustedProxies.addressBytes(String(parts[0])) else {
                throw CLIError.usage("--trusted-proxy \(text): not an IPv4 or IPv6 address or CIDR range")
            }
            let bits = address.count * 8
            var length = bits
            if parts.count == 2 {
                guard let n = Int(parts[1]), parts[1].allSatisfy(\.isASCII), (0...bits).contains(n) else {
                    throw CLIError.usage("--trusted-proxy \(text): the prefix length must be 0 to \(bits)")
                }
                length = n
            }
            self.network = address
            self.prefixLength = length
            // Bits past the prefix: the network is written with them clear (`10.0.0.0/8`).
            guard address == Self.masked(address, length) else {
                throw CLIError.usage("--trusted-proxy \(text): the address has bits set past the /\(length) prefix")
            }
        }

        /// True when `address` (4 or 16 bytes) is in this range; an IPv4-mapped IPv6 address
        /// (`::ffff:10.0.0.1`) is read as its IPv4 address.
        package func contains(_ address: [UInt8]) -> Bool {
            let address = TrustedProxies.unmapped(address)
            guard address.count == network.count else { return false }
            return Self.masked(address, prefixLength) == network
        }

        static func masked(_ address: [UInt8], _ length: Int) -> [UInt8] {
            var out = address
            for i in out.indices {
                let keep = min(8, max(0, length - i * 8))
                out[i] &= keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
            }
            return out
        }

        /// `network/prefix` with the network as inet_ntop writes it.
        package var description: String { "\(TrustedProxies.format(network))/\(prefixLength)" }
    }

    /// What the gateway says about a request's origin: the `X-Forwarded-For` and
    /// `X-Forwarded-Proto` values it sends upstream, and the client address it logs.
    package struct Forwarding: Sendable, Equatable {
        /// The `X-Forwarded-For` value; nil when the peer's address is unknown.
        package var forwardedFor: String?
        /// `http` or `https`.
        package var proto: String
        /// The client's address for the access log; nil when unknown.
        package var client: String?
        /// The certificate the client presented in a mutual-TLS handshake; nil without one (set by
        /// the gateway, never read from a request's fields).
        package var clientCertificate: ClientCertificate? = nil

        /// The three values as given.
        package init(forwardedFor: String?, proto: String, client: String?) {
            self.forwardedFor = forwardedFor
            self.proto = proto
            self.client = client
        }
    }

    /// The most addresses read from a trusted proxy's `X-Forwarded-For` (longer chains are dropped whole).
    package static let maximumChain = 32

    /// The trusted ranges; empty: trust no proxy.
    package var ranges: [Range]

    /// No proxy is trusted.
    package static let none = TrustedProxies(ranges: [])

    package init(ranges: [Range]) { self.ranges = ranges }

    /// Ranges from `--trusted-proxy` arguments (``Range/init(_:)``).
    package init(_ arguments: [String]) throws(CLIError) {
        var ranges: [Range] = []
        for argument in arguments { ranges.append(try Range(argument)) }
        self.ranges = ranges
    }

    /// True when `address` (text) parses and is in a trusted range.
    package func trusts(_ address: String) -> Bool {
        guard !ranges.isEmpty, let bytes = Self.addressBytes(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// The forwarding headers and logged client for a request from `peer` (the connection's address)
    /// carrying `forwardedFor` and `forwardedProto` (every value of those fields, in order), received
    /// over `scheme` (`http`, or `https` when the gateway terminates TLS).
    ///
    /// An untrusted peer: `X-Forwarded-For: peer`, `X-Forwarded-Proto: scheme`, client `peer`, the
    /// request's own fields ignored. A trusted peer: its chain (each comma-separated entry an IPv4 or
    /// IPv6 address, at most ``maximumChain``; otherwise the chain is ignored as a whole) with the peer
    /// appended, its last `X-Forwarded-Proto` when that is `http` or `https` (else `scheme`), and as
    /// client the rightmost address that is not trusted (the leftmost when all are).
    ///
    /// `forwarded` (the `Forwarded` fields of RFC 7239) stands in for both when the trusted peer sent
    /// no `X-Forwarded-For`: each element's `for` (an IPv4 address, or a quoted IPv6 one in brackets,
    /// either with a port) makes the chain and the last element's `proto` the scheme; an element
    /// without a `for` that is such an address (`unknown`, an obfuscated `_name`) drops the chain as
    /// a whole, as a bad `X-Forwarded-For` entry does.
    package func forwarding(
        peer: String?, forwardedFor: [String], forwardedProto: [String], forwarded: [String] = [], scheme: String = "http"
    ) -> Forwarding {
        guard let peer else { return Forwarding(forwardedFor: nil, proto: scheme, client: nil) }
        guard trusts(peer) else { return Forwarding(forwardedFor: peer, proto: scheme, client: peer) }
        if forwardedFor.isEmpty, !forwarded.isEmpty {
            guard let elements = Self.forwardedElements(forwarded) else {
                return finish(chain: [], peer: peer, forwardedProto: forwardedProto, scheme: scheme)
            }
            let proto = forwardedProto.isEmpty ? elements.proto.map { [$0] } ?? [] : forwardedProto
            return finish(chain: elements.addresses, peer: peer, forwardedProto: proto, scheme: scheme)
        }
        var chain: [String] = []
        for value in forwardedFor {
            for entry in value.split(separator: ",", omittingEmptySubsequences: false) {
                let address = entry.trimmingSpaces
                guard chain.count < Self.maximumChain, let bytes = Self.addressBytes(address) else {
                    return finish(chain: [], peer: peer, forwardedProto: forwardedProto, scheme: scheme)
                }
                chain.append(Self.format(bytes))
            }
        }
        return finish(chain: chain, peer: peer, forwardedProto: forwardedProto, scheme: scheme)
    }

    private func finish(chain: [String], peer: String, forwardedProto: [String], scheme: String) -> Forwarding {
        let hops = chain + [peer]
        let client = hops.last { !trusts($0) } ?? hops[0]
        var proto = scheme
        if let last = forwardedProto.last?.trimmingSpaces.lowercased(), last == "http" || last == "https" { proto = last }
        return Forwarding(forwardedFor: hops.joined(separator: ", "), proto: proto, client: client)
    }

    /// The `for` addresses (as inet_ntop writes them) and the last `proto` of `Forwarded` field values
    /// (RFC 7239: elements separated by `,`, pairs by `;`, a value a token or a quoted string); nil
    /// when an element has no `for` that is an address, or more than ``maximumChain`` elements come.
    package static func forwardedElements(_ values: [String]) -> (addresses: [String], proto: String?)? {
        var addresses: [String] = []
        var proto: String?
        for value in values {
            var elements: [[(String, String)]] = [[]]
            var name = ""
            var token = ""
            var quoted = false
            var escaped = false
            var inValue = false
            func endPair() {
                if inValue { elements[elements.count - 1].append((name.lowercased(), token)) }
                name = ""
                token = ""
                inValue = false
            }
            for character in value {
                if quoted {
                    if escaped {
                        token.append(character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        quoted = false
                    } else {
                        token.append(character)
                    }
                    continue
                }
                switch character {
                case "\"" where inValue && token.isEmpty: quoted = true
                case "=" where !inValue: inValue = true
                case ";": endPair()
                case ",":
                    endPair()
                    elements.append([])
                case " ", "\t": continue
                default:
                    if inValue { token.append(character) } else { name.append(character) }
                }
            }
            guard !quoted else { return nil }
            endPair()
            for element in elements {
                guard let forValue = element.first(where: { $0.0 == "for" })?.1, let address = Self.forwardedAddress(forValue),
                    addresses.count < maximumChain
                else { return nil }
                addresses.append(address)
                if let p = element.first(where: { $0.0 == "proto" })?.1 { proto = p.lowercased() }
            }
        }
        return (addresses, proto)
    }

    /// A `for` value's address: `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::1]` or
    /// `[2001:db8::1]:4711`, as inet_ntop writes it; nil for `unknown`, `_obfuscated` and the rest.
    static func forwardedAddress(_ value: String) -> String? {
        var host = Substring(value)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && rest.dropFirst().allSatisfy(\.isNumber) && rest.count > 1) else {
                return nil
            }
            host = host[host.index(after: host.startIndex)..<close]
            guard host.contains(":") else { return nil }
        } else if let colon = host.firstIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return nil }
            host = host[..<colon]
        }
        return addressBytes(String(host)).map(format)
    }

    /// The bytes of an IPv4 (`192.0.2.1`) or IPv6 (`2001:db8::1`) address, nil for anything else
    /// (brackets, ports, zone ids and host names included).
    package static func addressBytes(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count <= 45, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        if text.utf8.contains(UInt8(ascii: ":")) {
            var address = in6_addr()
            guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
            return withUnsafeBytes(of: &address) { Array($0) }
        }
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as its 4 IPv4 bytes; any other address as it is.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        guard address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF
        else { return address }
        return Array(address[12...])
    }

    /// `bytes` (4 or 16) as inet_ntop writes them.
    static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard written != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String { self[...].trimmingSpaces }
}
