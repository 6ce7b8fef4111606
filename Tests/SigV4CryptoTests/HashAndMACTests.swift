import Testing
@testable import _SigV4Crypto

/// Known-answer tests for the libcrypto binding.
@Suite("SHA-256, HMAC and secret storage")
struct HashAndMACTests {
    @Test("SHA-256 known answers (FIPS 180-2)",
          arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
          ])
    func sha256(input: String, hex: String) {
        #expect(SHA256.hash(input).hex == hex)
        // Incremental, one byte at a time, gives the same digest.
        var h = SHA256()
        for b in input.utf8 { h.update([b]) }
        #expect(h.finalize().hex == hex)
        // And the EVP one-shot floor agrees.
        #expect(Array(input.utf8).withUnsafeBytes { LibcryptoFloor.sha256($0) }.hex == hex)
    }

    @Test("SHA-256 of a million 'a' (FIPS 180-2)")
    func sha256Million() {
        var h = SHA256()
        let chunk = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(chunk) }
        #expect(h.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("HMAC-SHA256 known answers (RFC 4231 cases 1, 2, 6 and 7)",
          arguments: [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ([UInt8](repeating: 0xaa, count: 131),
             Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
          ])
    func hmac(key: [UInt8], message: [UInt8], hex: String) {
        let k = HMACKey(key: key)
        #expect(k.authenticationCode(for: message).hex == hex)
        // The precomputed state is reusable: a second MAC gives the same answer.
        #expect(k.authenticationCode(for: message).hex == hex)
        var incremental = k.makeMAC()
        for b in message { incremental.update([b]) }
        #expect(incremental.finalize().hex == hex)
        let floor = key.withUnsafeBytes { kb in message.withUnsafeBytes { LibcryptoFloor.hmacSHA256(key: kb, $0) } }
        #expect(floor.hex == hex)
    }

    @Test("the one-shot HMAC (the signing-key derivation's) agrees with OpenSSL's HMAC for keys and messages around the block size and the one-block message limit")
    func oneShotHMACMatchesOpenSSL() {
        var rng = SystemRandomNumberGenerator()
        var compared = 0
        for keyLength in [0, 1, 4, 20, 31, 32, 33, 55, 63, 64, 65, 100, 131] {
            for messageLength in [0, 1, 8, 12, 32, 54, 55, 56, 57, 63, 64, 65, 119, 120, 200] {
                for _ in 0..<3 {
                    let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let ours = key.withUnsafeBytes { k in
                        message.withUnsafeBytes { HMACKey.authenticationCode(key: k, message: $0) }
                    }
                    let openSSL = key.withUnsafeBytes { k in
                        message.withUnsafeBytes { LibcryptoFloor.hmacSHA256(key: k, $0) }
                    }
                    #expect(ours == openSSL, "key \(keyLength) bytes, message \(messageLength) bytes")
                    // The precomputed-key path gives the same answer.
                    #expect(HMACKey(key: key).authenticationCode(for: message) == openSSL)
                    compared += 1
                }
            }
        }
        #expect(compared == 13 * 15 * 3)
        // RFC 4231 case 2 (a 4-byte key, a 28-byte message).
        let jefe = Array("Jefe".utf8), question = Array("what do ya want for nothing?".utf8)
        let mac = jefe.withUnsafeBytes { k in question.withUnsafeBytes { HMACKey.authenticationCode(key: k, message: $0) } }
        #expect(mac.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("an HMAC chain (SigV4's derivation: \"AWS4\" + secret read in place, each MAC keying the next) gives OpenSSL's HMACs at every link, for secrets on both sides of the 64-byte key block and messages around the block sizes")
    func hmacChainMatchesOpenSSL() {
        var rng = SystemRandomNumberGenerator()
        func openSSL(_ key: [UInt8], _ message: [UInt8]) -> SHA256Digest {
            key.withUnsafeBytes { k in message.withUnsafeBytes { LibcryptoFloor.hmacSHA256(key: k, $0) } }
        }
        var compared = 0
        // "AWS4" + 60 bytes fills the block exactly; 61 and more are hashed first.
        for secretLength in [0, 1, 20, 40, 59, 60, 61, 64, 100, 200] {
            for messageLength in [0, 8, 55, 56, 64, 65, 130] {
                let secret = (0..<secretLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let messages = (0..<5).map { link in
                    (0..<(messageLength + link)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                }
                var expected: [SHA256Digest] = [openSSL(Array("AWS4".utf8) + secret, messages[0])]
                for message in messages.dropFirst() { expected.append(openSSL(expected.last!.bytes, message)) }
                let links = HMACChain.run { chain in
                    var out: [SHA256Digest] = []
                    secret.withUnsafeBytes { s in
                        messages[0].withUnsafeBytes { chain.start(keyPrefix: "AWS4", key: s, message: $0) }
                    }
                    out.append(chain.lastMAC)
                    for message in messages.dropFirst() {
                        message.withUnsafeBytes { chain.next($0) }
                        out.append(chain.withLast { SHA256Digest(bytes: Array($0))! })
                    }
                    return out
                }
                #expect(links == expected, "secret \(secretLength) bytes, messages from \(messageLength) bytes")
                compared += 1
            }
        }
        #expect(compared == 70)
    }

    @Test("an HMAC chain's key block, states and last MAC are all zero after the chain ends, and not before (control)")
    func hmacChainIsWiped() {
        var checked = 0
        HMACChain._testOnlyRun({ chain in
            let secret = [UInt8](repeating: 0xA5, count: 40), message = Array("20150830".utf8)
            secret.withUnsafeBytes { s in
                message.withUnsafeBytes { chain.start(keyPrefix: "AWS4", key: s, message: $0) }
            }
            message.withUnsafeBytes { chain.next($0) }
        }, inspect: { wiped, bytes in
            checked += 1
            if wiped {
                let notZero = bytes.filter { $0 != 0 }.count
                #expect(notZero == 0, "\(bytes.count) bytes, \(notZero) not zero")
            } else {
                // The key block, both states and the last MAC hold key-derived bytes until the wipe.
                #expect(bytes.filter { $0 != 0 }.count > bytes.count / 2, "the check must see the state it wipes")
            }
        })
        #expect(checked == 2)
    }

    @Test("constant-time comparison tells equal from different buffers")
    func constantTime() {
        #expect(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(ConstantTime.equals([] as [UInt8], [] as [UInt8]))
    }

    @Test("hex round-trips and rejects bad digits")
    func hex() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.decode("00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("abc") == nil)
        #expect(SHA256Digest(hex: String(repeating: "z", count: 64)) == nil)
    }

    @Test("the hex writer (16 bytes a step, the last 16 overlapping; under 16 byte by byte) gives a per-byte reference's digits for every byte value in every position of every length from 0 to 49")
    func hexWriterMatchesPerByteReference() {
        let digits = Array("0123456789abcdef".utf8)
        for count in 0...49 {
            for position in 0..<max(count, 1) {
                for value in stride(from: 0, through: 255, by: count == 0 ? 256 : 1) {
                    var bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ count) }
                    if count > 0 { bytes[position] = UInt8(value) }
                    let expected = bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }
                    // Written past a guard byte on each side, which must stay.
                    var out = [UInt8](repeating: 0xEE, count: 2 * count + 2)
                    bytes.withUnsafeBytes { b in out.withUnsafeMutableBufferPointer { Hex.write(b, to: $0.baseAddress! + 1) } }
                    #expect(Array(out[1..<(1 + 2 * count)]) == expected, "value \(value) at \(position) of \(count)")
                    #expect(out.first == 0xEE && out.last == 0xEE)
                }
            }
        }
    }

    @Test("the 16-digits-a-step hex decoder agrees with the digit-at-a-time one for every byte in every position")
    func wordHexDecoderMatchesScalar() {
        var accepted = 0
        // 64 (16-digit steps only), 18 and 30 (a last step overlapping the one before) and 14 (digit pairs).
        forEachOneByteReplaced(digits: "0123456789abcdefABCDEF", counts: [64, 30, 18, 14]) { hex, label in
            var out = [UInt8](repeating: 0, count: hex.count / 2)
            let ok = hex.withUnsafeBytes { h in out.withUnsafeMutableBytes { Hex.decode(h, into: $0) } }
            var expected = [UInt8](repeating: 0, count: hex.count / 2)
            let expectedOK = expected.withUnsafeMutableBytes { Hex.decode(hex, into: $0) }
            #expect(ok == expectedOK, "\(label)")
            if ok && expectedOK {
                #expect(out == expected)
                accepted += 1
            }
        }
        #expect(accepted == 22 * (64 + 30 + 18 + 14))
    }

    @Test("the word-at-a-time lowercase-hex check agrees with a per-byte one for every byte in every position")
    func lowercaseHexCheckMatchesScalar() {
        var accepted = 0
        forEachOneByteReplaced(digits: "0123456789abcdef", counts: [64, 13, 0]) { hex, label in
            let expected = hex.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
            let got = hex.withUnsafeBytes { Hex.isLowercaseHex($0) }
            #expect(got == expected, "\(label)")
            if got { accepted += 1 }
        }
        // 16 accepted bytes in each position of 64 and 13, and all 256 tries of the empty input.
        #expect(accepted == 16 * (64 + 13) + 256)
    }

    @Test("the lowercase-only hex decoder accepts what the lowercase check and the decoder accept together, for every byte in every position")
    func lowercaseHexDecoderMatchesCheckThenDecode() {
        var accepted = 0
        // 64 (16-digit steps only), 18 (a last step overlapping the first) and 0.
        forEachOneByteReplaced(digits: "0123456789abcdef", counts: [64, 18, 0]) { hex, label in
            var out = [UInt8](repeating: 0xEE, count: hex.count / 2)
            let ok = hex.withUnsafeBytes { h in out.withUnsafeMutableBytes { Hex.decodeLowercase(h, into: $0) } }
            var expected = [UInt8](repeating: 0, count: hex.count / 2)
            let expectedOK =
                hex.withUnsafeBytes { Hex.isLowercaseHex($0) }
                && expected.withUnsafeMutableBytes { Hex.decode(hex, into: $0) }
            #expect(ok == expectedOK, "\(label)")
            if ok && expectedOK {
                #expect(out == expected)
                accepted += 1
            }
        }
        #expect(accepted == 16 * (64 + 18) + 256)
        let upper = Array(String(repeating: "0123456789ABCDEF", count: 4).utf8)
        let lower = Array(String(repeating: "0123456789abcdef", count: 4).utf8)
        #expect(upper.withUnsafeBytes { SHA256Digest(lowercaseHexDigits: $0) } == nil)
        let digest = lower.withUnsafeBytes { SHA256Digest(lowercaseHexDigits: $0) }
        #expect(digest?.hex == String(decoding: lower, as: UTF8.self))
        #expect(lower.dropLast(2).withUnsafeBytes { SHA256Digest(lowercaseHexDigits: $0) } == nil)
    }

    @Test("SecureBytes redacts its description and wipes on request")
    func secureBytes() {
        let s = SecureBytes(Array("top-secret".utf8))
        #expect("\(s)" == "<redacted>")
        #expect(!String(reflecting: s).contains("top-secret"))
        #expect(s == SecureBytes(Array("top-secret".utf8)))
        s._testOnlyWipeNow()
        #expect(s.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
    }

    @Test("AES-256-GCM round-trips and refuses a wrong key, wrong AAD or tampered data")
    func aesGCM() throws {
        let key = SecureBytes(try SecureRandom.bytes(32))
        let plaintext = Array("secret access key".utf8)
        let box = try plaintext.withUnsafeBytes { try AES256GCM.seal($0, key: key, aad: Array("AKID|alice".utf8)) }
        #expect(box.ciphertext != plaintext)
        let opened = try AES256GCM.open(box, key: key, aad: Array("AKID|alice".utf8))
        #expect(opened.withUnsafeBytes { Array($0) } == plaintext)
        #expect(throws: AES256GCM.AuthenticationFailure.self) {
            try AES256GCM.open(box, key: key, aad: Array("AKID|mallory".utf8))
        }
        #expect(throws: AES256GCM.AuthenticationFailure.self) {
            try AES256GCM.open(box, key: SecureBytes(try SecureRandom.bytes(32)), aad: Array("AKID|alice".utf8))
        }
        var tampered = box
        tampered.ciphertext[0] ^= 1
        #expect(throws: AES256GCM.AuthenticationFailure.self) {
            try AES256GCM.open(tampered, key: key, aad: Array("AKID|alice".utf8))
        }
        #expect(AES256GCM.SealedBox(combined: box.combined) == box)
    }

    @Test("the random generator gives distinct output")
    func random() throws {
        #expect(try SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }
}

/// Runs `body` on random strings of `digits` of each length in `counts`, with the byte at each
/// position replaced by each of the 256 byte values in turn (an empty string, 256 times). The
/// label names the byte, its position and the length, for a failure's message.
private func forEachOneByteReplaced(
    digits: String, counts: [Int], _ body: (_ hex: [UInt8], _ label: String) -> Void
) {
    let digits = Array(digits.utf8)
    var rng = SystemRandomNumberGenerator()
    for count in counts {
        for position in 0..<max(count, 1) {
            for byte in 0...255 {
                var hex = (0..<count).map { _ in digits.randomElement(using: &rng)! }
                if count > 0 { hex[position] = UInt8(byte) }
                body(hex, "byte \(byte) at \(position) of \(count)")
            }
        }
    }
}
