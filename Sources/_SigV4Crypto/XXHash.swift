/// xxHash checksums as S3 uses them (`x-amz-checksum-xxhash64`, `-xxhash3`, `-xxhash128`):
/// XXH64, XXH3 (64-bit) and XXH3 (128-bit), seed 0 and XXH3's default secret, incremental.
///
/// Written from the xxHash specification and reference implementation by Yann Collet
/// (BSD-2-Clause; https://github.com/Cyan4973/xxHash, `doc/xxhash_spec.md` and `xxhash.h`). The
/// constants below (the primes and the 192-byte default secret) are the specification's. Checked
/// against awscrt's implementation (aws-checksums, which botocore uses for these algorithms) on
/// `TestVectors/awscrt-xxhash/`.
///
/// ```swift
/// var h = XXH3Hasher(width: .bits128)
/// h.update(UnsafeRawBufferPointer(...))
/// let bytes = h.bigEndianBytes   // 16 bytes, high half first
/// ```
enum XXHashConstants {
    static let p32_1: UInt64 = 0x9E37_79B1
    static let p32_2: UInt64 = 0x85EB_CA77
    static let p32_3: UInt64 = 0xC2B2_AE3D
    static let p64_1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p64_2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p64_3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p64_4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p64_5: UInt64 = 0x27D4_EB2F_1656_67C5
    static let mx1: UInt64 = 0x1656_6791_9E37_79F9
    static let mx2: UInt64 = 0x9FB2_1C65_1E98_DF25

    /// XXH3's default secret (192 bytes).
    static let secret: [UInt8] = [
        0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
        0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
        0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
        0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
        0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
        0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
        0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
        0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
        0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
        0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
        0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
        0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
    ]
}

@inline(__always)
private func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

@inline(__always)
private func read64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
    UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}

@inline(__always)
private func read32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
    UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
}

/// The 128-bit product of `a` and `b`, as (high, low).
@inline(__always)
private func mul128(_ a: UInt64, _ b: UInt64) -> (high: UInt64, low: UInt64) {
    let r = a.multipliedFullWidth(by: b)
    return (r.high, r.low)
}

@inline(__always)
private func fold64(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let r = a.multipliedFullWidth(by: b)
    return r.low ^ r.high
}

private typealias K = XXHashConstants

// MARK: - XXH64

/// Incremental XXH64 with seed 0.
package struct XXH64Hasher: Sendable {
    private var v = (K.p64_1 &+ K.p64_2, K.p64_2, UInt64(0), 0 &- K.p64_1)
    private var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    private var buffered = 0
    private var total: UInt64 = 0

    package init() {}

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* K.p64_2, 31) &* K.p64_1
    }

    @inline(__always)
    private static func merge(_ acc: UInt64, _ v: UInt64) -> UInt64 {
        (acc ^ round(0, v)) &* K.p64_1 &+ K.p64_4
    }

    private mutating func stripe(_ p: UnsafeRawPointer) {
        v.0 = Self.round(v.0, read64(p, 0))
        v.1 = Self.round(v.1, read64(p, 8))
        v.2 = Self.round(v.2, read64(p, 16))
        v.3 = Self.round(v.3, read64(p, 24))
    }

    /// Adds bytes.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, !bytes.isEmpty else { return }
        var n = bytes.count
        total &+= UInt64(n)
        if buffered > 0 {
            let take = min(32 - buffered, n)
            withUnsafeMutableBytes(of: &buffer) { $0.baseAddress!.advanced(by: buffered).copyMemory(from: p, byteCount: take) }
            buffered += take
            p += take
            n -= take
            guard buffered == 32 else { return }
            var full = buffer
            withUnsafeBytes(of: &full) { stripe($0.baseAddress!) }
            buffered = 0
        }
        while n >= 32 {
            stripe(p)
            p += 32
            n -= 32
        }
        if n > 0 {
            withUnsafeMutableBytes(of: &buffer) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
            buffered = n
        }
    }

    /// The hash of everything so far.
    package var value: UInt64 {
        var h: UInt64
        if total >= 32 {
            h = rotl(v.0, 1) &+ rotl(v.1, 7) &+ rotl(v.2, 12) &+ rotl(v.3, 18)
            h = Self.merge(h, v.0)
            h = Self.merge(h, v.1)
            h = Self.merge(h, v.2)
            h = Self.merge(h, v.3)
        } else {
            h = K.p64_5
        }
        h &+= total
        var rest = buffer
        let count = buffered
        withUnsafeBytes(of: &rest) { raw in
            let p = raw.baseAddress!
            var i = 0
            while i + 8 <= count {
                h ^= Self.round(0, read64(p, i))
                h = rotl(h, 27) &* K.p64_1 &+ K.p64_4
                i += 8
            }
            if i + 4 <= count {
                h ^= read32(p, i) &* K.p64_1
                h = rotl(h, 23) &* K.p64_2 &+ K.p64_3
                i += 4
            }
            while i < count {
                h ^= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) &* K.p64_5
                h = rotl(h, 11) &* K.p64_1
                i += 1
            }
        }
        return XXH3Hasher.avalanche64(h)
    }

    /// The hash as S3 sends it: 8 bytes, big-endian.
    package var bigEndianBytes: [UInt8] { CRC64NVME.bigEndian(value) }
}

// MARK: - XXH3

/// Incremental XXH3 (64 or 128 bits) with seed 0 and the default secret.
package struct XXH3Hasher: Sendable {
    /// The output width.
    package enum Width: Sendable { case bits64, bits128 }

    private static let stripeLength = 64
    private static let bufferSize = 256
    private static let secretSize = 192
    private static let stripesPerBlock = (192 - 64) / 8  // 16
    private static let secretLimit = 192 - 64  // 128

    /// Eight accumulators, held inline (a hasher is a value kept in an enum: no heap storage to copy).
    typealias Accumulators = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    /// 256 bytes, inline.
    typealias Buffer = (SIMD64<UInt8>, SIMD64<UInt8>, SIMD64<UInt8>, SIMD64<UInt8>)

    let width: Width
    private var acc: Accumulators = (K.p32_3, K.p64_1, K.p64_2, K.p64_3, K.p64_4, K.p32_2, K.p64_5, K.p32_1)
    private var buffer: Buffer = (SIMD64(), SIMD64(), SIMD64(), SIMD64())
    private var buffered = 0
    private var stripesSoFar = 0
    private var total = 0

    package init(width: Width) { self.width = width }

    // Mixing steps.

    static func avalanche64(_ h: UInt64) -> UInt64 {
        var h = h
        h ^= h >> 33
        h &*= K.p64_2
        h ^= h >> 29
        h &*= K.p64_3
        h ^= h >> 32
        return h
    }

    static func avalanche3(_ h: UInt64) -> UInt64 {
        var h = h ^ (h >> 37)
        h &*= K.mx1
        return h ^ (h >> 32)
    }

    static func rrmxmx(_ h: UInt64, _ length: UInt64) -> UInt64 {
        var h = h ^ (rotl(h, 49) ^ rotl(h, 24))
        h &*= K.mx2
        h ^= (h >> 35) &+ length
        h &*= K.mx2
        return h ^ (h >> 28)
    }

    static func mix16(_ p: UnsafeRawPointer, _ at: Int, _ s: UnsafeRawPointer, _ so: Int) -> UInt64 {
        fold64(read64(p, at) ^ read64(s, so), read64(p, at + 8) ^ read64(s, so + 8))
    }

    static func mix32(
        _ acc: inout (low: UInt64, high: UInt64), _ p: UnsafeRawPointer, _ a: Int, _ b: Int, _ s: UnsafeRawPointer,
        _ so: Int
    ) {
        acc.low &+= mix16(p, a, s, so)
        acc.low ^= read64(p, b) &+ read64(p, b + 8)
        acc.high &+= mix16(p, b, s, so + 16)
        acc.high ^= read64(p, a) &+ read64(p, a + 8)
    }

    static func accumulate512(_ acc: UnsafeMutablePointer<UInt64>, _ p: UnsafeRawPointer, _ s: UnsafeRawPointer, _ so: Int) {
        for i in 0..<8 {
            let data = read64(p, 8 * i)
            let key = data ^ read64(s, so + 8 * i)
            acc[i ^ 1] &+= data
            acc[i] &+= (key & 0xFFFF_FFFF) &* (key >> 32)
        }
    }

    static func scramble(_ acc: UnsafeMutablePointer<UInt64>, _ s: UnsafeRawPointer, _ so: Int) {
        for i in 0..<8 {
            var a = acc[i]
            a ^= a >> 47
            a ^= read64(s, so + 8 * i)
            acc[i] = a &* K.p32_1
        }
    }

    static func mergeAccs(_ acc: UnsafeMutablePointer<UInt64>, _ s: UnsafeRawPointer, _ so: Int, _ start: UInt64) -> UInt64 {
        var r = start
        for i in 0..<4 {
            r &+= fold64(acc[2 * i] ^ read64(s, so + 16 * i), acc[2 * i + 1] ^ read64(s, so + 16 * i + 8))
        }
        return avalanche3(r)
    }

    /// Accumulates `count` stripes from `p`, scrambling at the end of each block.
    private static func consumeStripes(
        _ acc: UnsafeMutablePointer<UInt64>, _ stripesSoFar: inout Int, _ p: UnsafeRawPointer, _ count: Int,
        _ s: UnsafeRawPointer
    ) {
        var p = p
        var left = count
        while left > 0 {
            let toBlockEnd = stripesPerBlock - stripesSoFar
            let n = min(left, toBlockEnd)
            for k in 0..<n { accumulate512(acc, p + k * stripeLength, s, (stripesSoFar + k) * 8) }
            p += n * stripeLength
            left -= n
            stripesSoFar += n
            if stripesSoFar == stripesPerBlock {
                scramble(acc, s, secretLimit)
                stripesSoFar = 0
            }
        }
    }

    /// Adds bytes.
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, !bytes.isEmpty else { return }
        var n = bytes.count
        total += n
        var buffered = self.buffered
        var soFar = stripesSoFar
        defer {
            self.buffered = buffered
            stripesSoFar = soFar
        }
        withUnsafeMutableBytes(of: &buffer) { bufferBytes in
            let b = bufferBytes.baseAddress!
            if buffered + n <= Self.bufferSize {
                (b + buffered).copyMemory(from: p, byteCount: n)
                buffered += n
                return
            }
            withUnsafeMutableBytes(of: &acc) { accBytes in
                let a = accBytes.baseAddress!.assumingMemoryBound(to: UInt64.self)
                XXHashConstants.secret.withUnsafeBytes { secret in
                    let s = secret.baseAddress!
                    if buffered > 0 {
                        let take = Self.bufferSize - buffered
                        (b + buffered).copyMemory(from: p, byteCount: take)
                        Self.consumeStripes(a, &soFar, b, Self.bufferSize / Self.stripeLength, s)
                        p += take
                        n -= take
                        buffered = 0
                    }
                    // Whole 256-byte runs while more than 256 bytes remain (the last bytes stay
                    // buffered: the final stripe is processed at the end).
                    if n > Self.bufferSize {
                        while n > Self.bufferSize {
                            Self.consumeStripes(a, &soFar, p, Self.bufferSize / Self.stripeLength, s)
                            p += Self.bufferSize
                            n -= Self.bufferSize
                        }
                        // The last stripe consumed, kept at the end of the buffer for a short
                        // tail's final stripe.
                        (b + Self.bufferSize - Self.stripeLength).copyMemory(
                            from: p - Self.stripeLength, byteCount: Self.stripeLength)
                    }
                    b.copyMemory(from: p, byteCount: n)
                    buffered = n
                }
            }
        }
    }

    /// The hash of everything so far: the low 64 bits are XXH3-64's when ``width`` is 64.
    package var value: (high: UInt64, low: UInt64) {
        XXHashConstants.secret.withUnsafeBytes { secret in
            let s = secret.baseAddress!
            if total > 240 { return long(s) }
            var bufferCopy = buffer
            return withUnsafeBytes(of: &bufferCopy) { b in short(b.baseAddress!, total, s) }
        }
    }

    /// The hash as S3 sends it: 8 bytes (64) or 16 bytes, high half first (128), big-endian.
    package var bigEndianBytes: [UInt8] {
        let v = value
        return width == .bits64 ? CRC64NVME.bigEndian(v.low) : CRC64NVME.bigEndian(v.high) + CRC64NVME.bigEndian(v.low)
    }

    private func long(_ s: UnsafeRawPointer) -> (high: UInt64, low: UInt64) {
        var accumulators = acc
        var soFar = stripesSoFar
        var bufferCopy = buffer
        return withUnsafeMutableBytes(of: &accumulators) { accBytes in
            let a = accBytes.baseAddress!.assumingMemoryBound(to: UInt64.self)
            withUnsafeBytes(of: &bufferCopy) { raw in
                let b = raw.baseAddress!
                if buffered >= Self.stripeLength {
                    let stripes = (buffered - 1) / Self.stripeLength
                    Self.consumeStripes(a, &soFar, b, stripes, s)
                    Self.accumulate512(a, b + buffered - Self.stripeLength, s, Self.secretLimit - 7)
                } else {
                    // The final stripe: the end of the previous run, then the buffered bytes.
                    var last: (SIMD64<UInt8>) = SIMD64()
                    let catchUp = Self.stripeLength - buffered
                    withUnsafeMutableBytes(of: &last) { l in
                        l.baseAddress!.copyMemory(from: b + Self.bufferSize - catchUp, byteCount: catchUp)
                        l.baseAddress!.advanced(by: catchUp).copyMemory(from: b, byteCount: buffered)
                        Self.accumulate512(a, l.baseAddress!, s, Self.secretLimit - 7)
                    }
                }
            }
            let length = UInt64(total)
            let low = Self.mergeAccs(a, s, 11, length &* K.p64_1)
            guard width == .bits128 else { return (0, low) }
            let high = Self.mergeAccs(a, s, Self.secretSize - 64 - 11, ~(length &* K.p64_2))
            return (high, low)
        }
    }

    private func short(_ p: UnsafeRawPointer, _ n: Int, _ s: UnsafeRawPointer) -> (high: UInt64, low: UInt64) {
        let len = UInt64(n)
        switch width {
        case .bits64: return (0, Self.short64(p, n, len, s))
        case .bits128: return Self.short128(p, n, len, s)
        }
    }

    private static func short64(_ p: UnsafeRawPointer, _ n: Int, _ len: UInt64, _ s: UnsafeRawPointer) -> UInt64 {
        if n == 0 { return avalanche64(read64(s, 56) ^ read64(s, 64)) }
        if n <= 3 {
            let c1 = UInt64(p.load(fromByteOffset: 0, as: UInt8.self))
            let c2 = UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self))
            let c3 = UInt64(p.load(fromByteOffset: n - 1, as: UInt8.self))
            let combined = (c1 << 16) | (c2 << 24) | c3 | (len << 8)
            return avalanche64(combined ^ (read32(s, 0) ^ read32(s, 4)))
        }
        if n <= 8 {
            let input = read32(p, n - 4) &+ (read32(p, 0) << 32)
            return rrmxmx(input ^ (read64(s, 8) ^ read64(s, 16)), len)
        }
        if n <= 16 {
            let lo = read64(p, 0) ^ (read64(s, 24) ^ read64(s, 32))
            let hi = read64(p, n - 8) ^ (read64(s, 40) ^ read64(s, 48))
            return avalanche3(len &+ lo.byteSwapped &+ hi &+ fold64(lo, hi))
        }
        var acc = len &* K.p64_1
        if n <= 128 {
            if n > 32 {
                if n > 64 {
                    if n > 96 {
                        acc &+= mix16(p, 48, s, 96)
                        acc &+= mix16(p, n - 64, s, 112)
                    }
                    acc &+= mix16(p, 32, s, 64)
                    acc &+= mix16(p, n - 48, s, 80)
                }
                acc &+= mix16(p, 16, s, 32)
                acc &+= mix16(p, n - 32, s, 48)
            }
            acc &+= mix16(p, 0, s, 0)
            acc &+= mix16(p, n - 16, s, 16)
            return avalanche3(acc)
        }
        // 129 to 240 bytes.
        for i in 0..<8 { acc &+= mix16(p, 16 * i, s, 16 * i) }
        acc = avalanche3(acc)
        for i in 8..<(n / 16) { acc &+= mix16(p, 16 * i, s, 16 * (i - 8) + 3) }
        acc &+= mix16(p, n - 16, s, 136 - 17)
        return avalanche3(acc)
    }

    private static func short128(
        _ p: UnsafeRawPointer, _ n: Int, _ len: UInt64, _ s: UnsafeRawPointer
    ) -> (high: UInt64, low: UInt64) {
        if n == 0 {
            return (avalanche64(read64(s, 80) ^ read64(s, 88)), avalanche64(read64(s, 64) ^ read64(s, 72)))
        }
        if n <= 3 {
            let c1 = UInt32(p.load(fromByteOffset: 0, as: UInt8.self))
            let c2 = UInt32(p.load(fromByteOffset: n >> 1, as: UInt8.self))
            let c3 = UInt32(p.load(fromByteOffset: n - 1, as: UInt8.self))
            let low32 = (c1 << 16) | (c2 << 24) | c3 | (UInt32(n) << 8)
            let swapped = low32.byteSwapped
            let high32 = (swapped << 13) | (swapped >> 19)
            let low = UInt64(low32) ^ (read32(s, 0) ^ read32(s, 4))
            let high = UInt64(high32) ^ ((read32(s, 8) ^ read32(s, 12)))
            return (avalanche64(high), avalanche64(low))
        }
        if n <= 8 {
            let input = read32(p, 0) &+ (read32(p, n - 4) << 32)
            let keyed = input ^ (read64(s, 16) ^ read64(s, 24))
            var m = mul128(keyed, K.p64_1 &+ (len << 2))
            m.high &+= m.low << 1
            m.low ^= m.high >> 3
            m.low ^= m.low >> 35
            m.low &*= K.mx2
            m.low ^= m.low >> 28
            return (avalanche3(m.high), m.low)
        }
        if n <= 16 {
            let flipLow = read64(s, 32) ^ read64(s, 40)
            let flipHigh = read64(s, 48) ^ read64(s, 56)
            let inLow = read64(p, 0)
            var inHigh = read64(p, n - 8)
            var m = mul128(inLow ^ inHigh ^ flipLow, K.p64_1)
            m.low &+= (len &- 1) << 54
            inHigh ^= flipHigh
            m.high &+= inHigh &+ (inHigh & 0xFFFF_FFFF) &* (K.p32_2 &- 1)
            m.low ^= m.high.byteSwapped
            var h = mul128(m.low, K.p64_2)
            h.high &+= m.high &* K.p64_2
            return (avalanche3(h.high), avalanche3(h.low))
        }
        var acc: (low: UInt64, high: UInt64) = (len &* K.p64_1, 0)
        if n <= 128 {
            if n > 32 {
                if n > 64 {
                    if n > 96 { mix32(&acc, p, 48, n - 64, s, 96) }
                    mix32(&acc, p, 32, n - 48, s, 64)
                }
                mix32(&acc, p, 16, n - 32, s, 32)
            }
            mix32(&acc, p, 0, n - 16, s, 0)
        } else {
            for i in 0..<4 { mix32(&acc, p, 32 * i, 32 * i + 16, s, 32 * i) }
            acc.low = avalanche3(acc.low)
            acc.high = avalanche3(acc.high)
            for i in 4..<(n / 32) { mix32(&acc, p, 32 * i, 32 * i + 16, s, 3 + 32 * (i - 4)) }
            mix32(&acc, p, n - 16, n - 32, s, 136 - 17 - 16)
        }
        let low = acc.low &+ acc.high
        let high = acc.low &* K.p64_1 &+ acc.high &* K.p64_4 &+ len &* K.p64_2
        return (0 &- avalanche3(high), avalanche3(low))
    }
}
