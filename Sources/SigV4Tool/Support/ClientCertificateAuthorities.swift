import ArgumentParser
import CSigV4OpenSSL
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The CA certificates a mutual-TLS gateway (`sigv4 serve --tls-client-ca`) accepts client
/// certificates from, read again from their file on `SIGHUP` (a CA added or withdrawn) without a
/// restart.
///
/// Every handshake's client chain is checked against the CAs in force by libcrypto
/// (`X509_verify_cert`: a chain to one of them, each certificate valid at the time, the client's
/// fit for TLS client use), through the TLS channel's custom verification callback, so connections
/// opened after a reload are judged by the new file and open ones are not cut. A reload that
/// fails (the file missing, or holding no certificate or a block that cannot be read) changes
/// nothing and is logged.
///
/// ```swift
/// let authorities = try ClientCertificateAuthorities(path: "clients-ca.pem")
/// let tls = TLSChannelConfiguration(tlsConfiguration: configuration, customVerificationCallback: authorities.verificationCallback)
/// try authorities.reload()   // on SIGHUP
/// ```
final class ClientCertificateAuthorities: Sendable {
    /// One reading of the file: libcrypto's store of its certificates, freed with the last
    /// handshake that uses it.
    final class Store: @unchecked Sendable {
        // Only read once made: X509_STORE is safe to verify against from several threads.
        let store: OpaquePointer
        let count: Int

        init(pem: Data, path: String) throws(ValidationError) {
            var count: Int32 = 0
            let made = pem.withUnsafeBytes { bytes in
                CSigV4OpenSSL_x509_store_from_pem(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, &count)
            }
            guard let made else {
                throw ValidationError(
                    count < 0
                        ? "--tls-client-ca \(path) holds a block that is not a readable PEM certificate"
                        : "--tls-client-ca \(path) holds no certificate")
            }
            store = made
            self.count = Int(count)
        }

        deinit { CSigV4OpenSSL_x509_store_free(store) }

        /// Whether `chain` (the client's certificate first) chains to this store's CAs for TLS client use now.
        func verifies(_ chain: [[UInt8]]) -> Bool {
            guard !chain.isEmpty, chain.count <= 64 else { return false }
            let copies = chain.map { der -> UnsafeMutableBufferPointer<UInt8> in
                let copy = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(der.count, 1))
                _ = copy.initialize(from: der)
                return copy
            }
            defer { copies.forEach { $0.deallocate() } }
            let pointers: [UnsafePointer<UInt8>?] = copies.map { UnsafePointer($0.baseAddress) }
            return CSigV4OpenSSL_x509_verify_client(store, pointers, chain.map(\.count), chain.count) == 1
        }
    }

    let path: String
    private let current: Mutex<Store>

    /// Reads the file; throws a usage error naming it (never its bytes) when it cannot be used.
    init(path: String) throws(ValidationError) {
        self.path = path
        current = Mutex(try Self.load(path))
    }

    static func load(_ path: String) throws(ValidationError) -> Store {
        guard let pem = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--tls-client-ca \(path) is not a readable PEM file of certificates")
        }
        return try Store(pem: pem, path: path)
    }

    /// How many CA certificates are in force.
    var count: Int { current.withLock { $0.count } }

    /// Reads the file again; on success the next handshakes are judged by it. Throws (and keeps
    /// the CAs in force) when it cannot be used.
    func reload() throws(ValidationError) {
        let fresh = try Self.load(path)
        current.withLock { $0 = fresh }
    }

    /// Whether the client's chain (its certificate first, as the handshake gives it) is issued by a
    /// CA in force.
    func verifies(_ chain: [NIOSSLCertificate]) -> Bool {
        let ders = chain.compactMap { try? $0.toDERBytes() }
        guard ders.count == chain.count else { return false }
        let store = current.withLock { $0 }
        return store.verifies(ders)
    }

    /// For `TLSChannelConfiguration(customVerificationCallback:)`: the handshake goes on only with
    /// a client chain ``verifies(_:)`` accepts.
    var verificationCallback: @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void {
        { [self] chain, promise in
            promise.succeed(self.verifies(chain) ? .certificateVerified : .failed)
        }
    }
}
