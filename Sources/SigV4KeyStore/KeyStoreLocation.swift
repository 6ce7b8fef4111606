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
        let storage = try SQLiteKeyStoreStorage(path: path, create: false)
        let (ring, _) = try MasterKeyRing.locate(forStoreAt: path, keyFile: keyFile, environment: environment)
        return try KeyStore(storage: storage, masterKeys: ring, policy: policy)
    }
}
