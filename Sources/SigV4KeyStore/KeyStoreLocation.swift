/// Where a key store lives by default.
///
/// `sigv4 keys`, `sigv4 verify --keystore` and `sigv4 serve --keystore` all use
/// these rules, so a store made by `sigv4 keys init` is found again.
///
/// ```swift
/// let path = KeyStoreLocation.defaultStorePath(environment: ProcessInfo.processInfo.environment)
/// ```
public enum KeyStoreLocation {
    /// The environment variable naming the store: `SIGV4_KEYSTORE`.
    public static let environmentVariable = "SIGV4_KEYSTORE"

    /// `$SIGV4_KEYSTORE`, else `$XDG_DATA_HOME/sigv4/keys.db`, else `~/.local/share/sigv4/keys.db`
    /// (`~/Library/Application Support/sigv4/keys.db` on macOS).
    public static func defaultStorePath(environment: [String: String]) -> String {
        if let path = environment[environmentVariable], !path.isEmpty { return path }
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return data + "/sigv4/keys.db" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "."
        #if os(macOS)
            return home + "/Library/Application Support/sigv4/keys.db"
        #else
            return home + "/.local/share/sigv4/keys.db"
        #endif
    }

    /// Opens the store at `path` with the master keys found for it (see ``MasterKeyRing/locate(forStoreAt:keyFile:environment:)``).
    /// The store is checked first, so a missing store is `storeNotFound` and a damaged one `corruptStore`.
    ///
    /// ```swift
    /// let store = try KeyStoreLocation.open(path: path, environment: ProcessInfo.processInfo.environment)
    /// ```
    public static func open(
        path: String, keyFile: String? = nil, environment: [String: String], policy: KeyStorePolicy = KeyStorePolicy()
    ) throws(KeyStoreError) -> KeyStore {
        try openLocated(path: path, keyFile: keyFile, environment: environment, policy: policy).store
    }

    /// Opens the store at `path` like ``open(path:keyFile:environment:policy:)`` and also says where its
    /// master keys came from, for a caller that writes the key file (`sigv4 keys rewrap`).
    ///
    /// A key file is read again when the store holds records under a version the first reading lacked:
    /// a rewrap in another process saves its new version to the file before any record uses it, so a
    /// reading taken after the store shows such records has the version. Up to eight readings are taken
    /// (one more per rewrap that starts meanwhile); then `masterKeyVersionUnavailable` stands. Keys from
    /// `$SIGV4_KEYSTORE_MASTER_KEY` are read once.
    ///
    /// ```swift
    /// let (store, source) = try KeyStoreLocation.openLocated(path: path, environment: environment)
    /// ```
    public static func openLocated(
        path: String, keyFile: String? = nil, environment: [String: String], policy: KeyStorePolicy = KeyStorePolicy()
    ) throws(KeyStoreError) -> (store: KeyStore, source: MasterKeyRing.Source) {
        let storage = try SQLiteKeyStoreStorage(path: path, create: false)
        var readings = 0
        while true {
            let (ring, source) = try MasterKeyRing.locate(forStoreAt: path, keyFile: keyFile, environment: environment)
            readings += 1
            do {
                let keyFile: String? = if case .file(let path) = source { path } else { nil }
                return (
                    try KeyStore(storage: storage, masterKeys: ring, masterKeyFile: keyFile, policy: policy), source
                )
            } catch let error {
                guard error.code == .masterKeyVersionUnavailable, source != .environment, readings < 8 else {
                    throw error
                }
            }
        }
    }
}
