import SigV4CommandLine
import Testing

/// `TrustedProxies`, behind `sigv4 serve --trusted-proxy`: which ranges parse, and what the gateway
/// sends upstream as `X-Forwarded-For`/`X-Forwarded-Proto` and logs as the client, trusted or not.
@Suite("trusted proxies: --trusted-proxy ranges and the forwarding headers they allow")
struct TrustedProxiesTests {
    @Test("addresses and CIDR ranges parse; hosts, ports, brackets, bad prefixes and bits past the prefix are usage errors")
    func rangesParse() throws {
        #expect(try TrustedProxies.Range("10.0.0.0/8").description == "10.0.0.0/8")
        #expect(try TrustedProxies.Range("192.0.2.7").description == "192.0.2.7/32")
        #expect(try TrustedProxies.Range("::1").description == "::1/128")
        #expect(try TrustedProxies.Range("fd00::/8").description == "fd00::/8")
        #expect(try TrustedProxies.Range("0.0.0.0/0").description == "0.0.0.0/0")
        for bad in [
            "", "localhost", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8/8", "::1/129",
            "[::1]", "10.0.0.1:80", "10.0.0", "10.0.0.256", "fe80::1%eth0", " 10.0.0.1", "10.0.0.0/٨",
        ] {
            #expect(throws: CLIError.self, "\(bad.debugDescription)") { try TrustedProxies.Range(bad) }
        }
        let error = try #require(throws: CLIError.self) { try TrustedProxies(["10.0.0.0/8", "nope"]) }
        #expect(error.exitCode == 2 && error.message.contains("--trusted-proxy nope"))
    }

    @Test("a range holds exactly its addresses; an IPv4-mapped IPv6 address is read as IPv4")
    func membership() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8", "192.168.1.128/25", "fd00::/8"])
        for inside in ["10.0.0.0", "10.255.255.255", "192.168.1.128", "192.168.1.255", "fd12::1", "::ffff:10.1.2.3"] {
            #expect(trusted.trusts(inside), "\(inside)")
        }
        for outside in ["11.0.0.0", "9.255.255.255", "192.168.1.127", "fe00::1", "::ffff:11.0.0.1", "::1", "x"] {
            #expect(!trusted.trusts(outside), "\(outside)")
        }
        #expect(!TrustedProxies.none.trusts("127.0.0.1"))
    }

    @Test("an untrusted peer speaks only for itself: the request's X-Forwarded-For and -Proto are ignored")
    func untrustedPeer() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8"])
        let hop = trusted.forwarding(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"], forwardedProto: ["https"])
        #expect(hop == .init(forwardedFor: "203.0.113.9", proto: "http", client: "203.0.113.9"))
        #expect(TrustedProxies.none.forwarding(peer: "10.0.0.1", forwardedFor: ["1.2.3.4"], forwardedProto: ["https"])
            == .init(forwardedFor: "10.0.0.1", proto: "http", client: "10.0.0.1"))
        #expect(trusted.forwarding(peer: nil, forwardedFor: ["1.2.3.4"], forwardedProto: []) == .init(forwardedFor: nil, proto: "http", client: nil))
    }

    @Test("a trusted peer's chain is kept with the peer appended; the client is the rightmost untrusted hop")
    func trustedPeer() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8"])
        // A balancer (10.0.0.5) in front of the gateway, a client's own claim (198.51.100.1) before the real client.
        let hop = trusted.forwarding(
            peer: "10.0.0.5", forwardedFor: ["198.51.100.1, 203.0.113.7", "10.0.0.9"], forwardedProto: ["http", " HTTPS "])
        #expect(hop == .init(forwardedFor: "198.51.100.1, 203.0.113.7, 10.0.0.9, 10.0.0.5", proto: "https", client: "203.0.113.7"))
        // Every hop trusted: the leftmost is the client. No chain: the peer is.
        #expect(trusted.forwarding(peer: "10.0.0.5", forwardedFor: ["10.1.1.1"], forwardedProto: []).client == "10.1.1.1")
        #expect(trusted.forwarding(peer: "10.0.0.5", forwardedFor: [], forwardedProto: [])
            == .init(forwardedFor: "10.0.0.5", proto: "http", client: "10.0.0.5"))
        // IPv6 entries are written as inet_ntop writes them.
        #expect(trusted.forwarding(peer: "10.0.0.5", forwardedFor: ["2001:DB8:0:0::1"], forwardedProto: []).forwardedFor
            == "2001:db8::1, 10.0.0.5")
    }

    @Test("a trusted peer's chain with any entry not an address, or longer than 32, is dropped whole; a scheme other than http or https is http")
    func hostileChains() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8"])
        for chain in [
            ["203.0.113.7, evil.example"], ["203.0.113.7,"], ["203.0.113.7", ""], ["1.2.3.4:80"], ["[::1]"],
            ["unknown"], ["203.0.113.7\r\nX-SigV4-Principal: root"], ["198.51.100.1 203.0.113.7"],
            [Array(repeating: "203.0.113.7", count: 33).joined(separator: ",")],
        ] {
            let hop = trusted.forwarding(peer: "10.0.0.5", forwardedFor: chain, forwardedProto: ["javascript"])
            #expect(hop == .init(forwardedFor: "10.0.0.5", proto: "http", client: "10.0.0.5"), "\(chain)")
        }
        let longest = Array(repeating: "203.0.113.7", count: 32).joined(separator: ",")
        #expect(trusted.forwarding(peer: "10.0.0.5", forwardedFor: [longest], forwardedProto: []).client == "203.0.113.7")
    }

    @Test("from a trusted peer without X-Forwarded-For, RFC 7239 Forwarded makes the chain and the scheme; an element that names no address drops it whole; an untrusted peer's is ignored")
    func forwardedHeader() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8"])
        let hop = trusted.forwarding(
            peer: "10.0.0.2", forwardedFor: [], forwardedProto: [],
            forwarded: ["for=192.0.2.60;proto=http;by=203.0.113.43", "For=\"[2001:db8:cafe::17]:4711\", for=\"198.51.100.7:47011\";proto=HTTPS"])
        #expect(hop.forwardedFor == "192.0.2.60, 2001:db8:cafe::17, 198.51.100.7, 10.0.0.2")
        #expect(hop.proto == "https")
        #expect(hop.client == "198.51.100.7")
        // X-Forwarded-Proto, when sent, says the scheme; X-Forwarded-For, when sent, wins over Forwarded.
        #expect(trusted.forwarding(peer: "10.0.0.2", forwardedFor: [], forwardedProto: ["http"], forwarded: ["for=192.0.2.60;proto=https"]).proto == "http")
        #expect(
            trusted.forwarding(peer: "10.0.0.2", forwardedFor: ["203.0.113.1"], forwardedProto: [], forwarded: ["for=192.0.2.60"])
                .forwardedFor == "203.0.113.1, 10.0.0.2")
        for bad in [
            "for=unknown", "for=_hidden", "proto=https", "for=\"[2001:db8::1\"", "for=2001:db8::1", "for=192.0.2.60:x",
            "for=\"192.0.2.60", "for=example.com", "for=192.0.2.60, for=_gw",
            Array(repeating: "for=192.0.2.1", count: 33).joined(separator: ","),
        ] {
            let dropped = trusted.forwarding(peer: "10.0.0.2", forwardedFor: [], forwardedProto: [], forwarded: [bad])
            #expect(dropped.forwardedFor == "10.0.0.2", "\(bad)")
            #expect(dropped.client == "10.0.0.2", "\(bad)")
        }
        let untrusted = trusted.forwarding(peer: "203.0.113.9", forwardedFor: [], forwardedProto: [], forwarded: ["for=1.2.3.4;proto=https"])
        #expect(untrusted.forwardedFor == "203.0.113.9" && untrusted.proto == "http")
    }
}
