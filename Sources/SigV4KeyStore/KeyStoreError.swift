/// The error thrown by every key store operation.
///
/// Each error carries a stable ``Code`` and a human-readable reason. No
/// error ever contains a secret, a data key or a master key. An operation
/// that throws has changed nothing: every change runs in one transaction.
///
/// ```swift
/// do {
///     try store.activate(keyID: "SV4KAAAAAAAAAAAAAAAA", actor: "ops")
/// } catch let error as KeyStoreError where error.code == .unknownKey {
///     print(error.reason)
/// }
/// ```
public struct KeyStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code. Open-ended: new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's name, for example `unknownKey`.
        public let name: String
        init(_ name: String) { self.name = name }
        /// A printable form that never holds secret material.
        public var description: String { name }

        /// The store file does not exist (run `sigv4 keys init`).
        public static let storeNotFound = Code("storeNotFound")
        /// The file is not a key store, or is damaged.
        public static let corruptStore = Code("corruptStore")
        /// The store was written by a newer format version.
        public static let unsupportedFormat = Code("unsupportedFormat")
        /// No master key was found (environment variable or key file).
        public static let masterKeyMissing = Code("masterKeyMissing")
        /// A master key does not match the one the store was sealed with.
        public static let wrongMasterKey = Code("wrongMasterKey")
        /// Records are sealed under a master key version that was not supplied.
        public static let masterKeyVersionUnavailable = Code("masterKeyVersionUnavailable")
        /// The store has registered a newer master key version than the current one of the ring this
        /// instance was opened with (a rewrap ran since), and no key file holds it: nothing is sealed under
        /// the older version, which may be dropped next. Open the store again with the master keys as they are now.
        public static let staleMasterKeyRing = Code("staleMasterKeyRing")
        /// A master key version is still in use and may not be dropped.
        public static let masterKeyInUse = Code("masterKeyInUse")
        /// The master key file or its text is malformed.
        public static let malformedMasterKey = Code("malformedMasterKey")
        /// The master key file is readable or writable by group or others.
        public static let keyFilePermissions = Code("keyFilePermissions")
        /// A principal with this name already exists.
        public static let duplicatePrincipal = Code("duplicatePrincipal")
        /// No principal has this name.
        public static let unknownPrincipal = Code("unknownPrincipal")
        /// No key has this id (deleted keys are reported as `keyDeleted`).
        public static let unknownKey = Code("unknownKey")
        /// The key was deleted; only its tombstone remains.
        public static let keyDeleted = Code("keyDeleted")
        /// The requested state change is not allowed from the key's current state.
        public static let invalidTransition = Code("invalidTransition")
        /// The principal already has the maximum number of active keys.
        public static let tooManyActiveKeys = Code("tooManyActiveKeys")
        /// The key has not been inactive for the retention period (use `force`).
        public static let retentionNotElapsed = Code("retentionNotElapsed")
        /// The principal has several active keys; name the one to rotate.
        public static let ambiguousRotation = Code("ambiguousRotation")
        /// An argument is malformed (name, id, time, scope).
        public static let invalidArgument = Code("invalidArgument")
        /// A sealed secret failed to authenticate (tampered record or wrong data key).
        public static let integrityFailure = Code("integrityFailure")
        /// The storage backend failed (I/O, locking).
        public static let storage = Code("storage")
        /// libcrypto failed (random numbers, AES-GCM).
        public static let crypto = Code("crypto")
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// A human-readable explanation (never contains secret material).
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// A printable form that never holds secret material.
    public var description: String { "KeyStoreError.\(code.name): \(reason)" }
}
