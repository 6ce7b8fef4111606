import ArgumentParser
import Foundation
import SigV4
import SigV4CommandLine
import SigV4KeyStore
import SigV4Verifier

/// `sigv4 keys`: manage the key-rotation key store.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the key-rotation key store (principals, access keys, master keys, audit log).",
        discussion: """
            The store is a SQLite file: --keystore, else $SIGV4_KEYSTORE, else a per-user data path \
            (~/.local/share/sigv4/keys.db). Its master key comes from $SIGV4_KEYSTORE_MASTER_KEY, or from a \
            0600 key file: --master-key-file, $SIGV4_KEYSTORE_MASTER_KEY_FILE, or <keystore>.masterkey, which \
            'keys init' creates. Errors print 'sigv4 keys: <code>: <reason>' and exit 1.

            Examples:
              sigv4 keys init --keystore ./keys.db
              sigv4 keys create --principal alice --service s3 --format env
              sigv4 keys rotate --principal alice --overlap 1d
              sigv4 keys list --older-than 90
            """,
        subcommands: [
            KeysInit.self, KeysCreate.self, KeysList.self, KeysShow.self, KeysRotate.self, KeysRetire.self,
            KeysDeactivate.self, KeysActivate.self, KeysDelete.self, KeysAudit.self, KeysRewrap.self,
        ]
    )
}

/// Options every `keys` subcommand shares.
struct KeyStoreOptions: ParsableArguments {
    @Option(name: .long, help: "Key store file (default: $SIGV4_KEYSTORE or ~/.local/share/sigv4/keys.db).")
    var keystore: String?

    @Option(name: .long, help: "Master key file (default: $SIGV4_KEYSTORE_MASTER_KEY_FILE or <keystore>.masterkey).")
    var masterKeyFile: String?

    @Option(name: .long, help: "Who makes the change, for the audit log (default: $USER@host).")
    var actor: String?

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    func validate() throws {
        if keystore?.isEmpty == true { throw ValidationError("--keystore needs a path") }
        if masterKeyFile?.isEmpty == true { throw ValidationError("--master-key-file needs a path") }
    }

    var path: String { keystore ?? KeyStoreLocation.defaultStorePath(environment: environment) }

    var actorName: String {
        if let actor { return actor }
        let user = environment["USER"] ?? environment["LOGNAME"] ?? "unknown"
        return "\(user)@\(ProcessInfo.processInfo.hostName)"
    }

    func open() throws(KeyStoreError) -> KeyStore {
        try KeyStoreLocation.open(path: path, keyFile: masterKeyFile, environment: environment)
    }
}

/// Output formats for a newly issued secret.
enum SecretFormat: String, ExpressibleByArgument, CaseIterable {
    case json, env
    case awsCredentials = "aws-credentials"
}

/// Output formats for listings.
enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Runs `body`, turning a key store error into `sigv4 keys: code: reason` on stderr and exit status 1.
func keysCommand(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as KeyStoreError {
        FileHandle.standardError.write(Data("sigv4 keys: \(error.code): \(error.reason)\n".utf8))
        throw ExitCode(1)
    }
}

/// Parses `3600`, `90s`, `30m`, `24h` or `7d` into seconds.
func parseDuration(_ text: String) throws -> Int64 {
    let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
    var digits = Substring(text)
    var unit: Int64 = 1
    if let last = text.last, let u = units[last] {
        unit = u
        digits = digits.dropLast()
    }
    guard let value = Int64(digits), value >= 0, value <= 10 * 366 * 86_400 / unit else {
        throw ValidationError("invalid duration \(text.debugDescription): use seconds or a number with s, m, h, d, w")
    }
    return value * unit
}

/// Parses a timestamp (`20260101T000000Z`, ISO 8601 with `Z` or an offset, `@<unix seconds>`:
/// ``TimestampArgument``).
func parseTimestamp(_ text: String) throws -> AmzDate {
    guard let date = TimestampArgument.parse(text) else {
        throw ValidationError("invalid timestamp \(text.debugDescription.prefix(60)): \(TimestampArgument.expected)")
    }
    return date
}

/// The JSON of an access key, as `keys list/show/...` print it (compact, stable key order).
enum KeyJSON {
    typealias J = TextFormatting.JSON

    static func key(_ key: AccessKey) -> J {
        var retireAt: J = .null
        if case .retiring(let at) = key.state { retireAt = .string(at.iso8601Basic) }
        let scope = key.scope
        return .object([
            ("access_key_id", .string(key.accessKeyID)),
            ("principal", .string(key.principal)),
            ("state", .string(key.state.name)),
            ("retire_at", retireAt),
            ("state_changed_at", .string(key.stateChangedAt.iso8601Basic)),
            ("created_at", .string(key.createdAt.iso8601Basic)),
            ("description", .string(key.description)),
            (
                "scope",
                .object([
                    ("regions", .array(scope.regions.sorted().map { .string($0) })),
                    ("services", .array(scope.services.sorted().map { .string($0) })),
                    ("methods", .array(scope.methods.sorted().map { .string($0) })),
                    ("path_prefixes", .array(scope.pathPrefixes.map { .string($0) })),
                    ("max_presign_lifetime", scope.maxPresignLifetime.map(J.int) ?? .null),
                    ("not_before", .optional(scope.notBefore?.iso8601Basic)),
                    ("not_after", .optional(scope.notAfter?.iso8601Basic)),
                ])
            ),
            (
                "last_used",
                key.lastUsed.map {
                    J.object([
                        ("at", .string($0.at.iso8601Basic)), ("region", .string($0.region)),
                        ("service", .string($0.service)),
                    ])
                } ?? .null
            ),
            ("master_key_version", key.masterKeyVersion.map { J.int(Int($0)) } ?? .null),
        ])
    }
}

/// Prints a newly issued key and its secret once, in the chosen format.
func printIssued(
    _ issued: IssuedKey, format: SecretFormat, profile: String?, extra: [(String, TextFormatting.JSON)] = []
) {
    let id = issued.accessKeyID
    let secret = issued.secretAccessKey.revealForDisplay()
    switch format {
    case .json:
        let fields: [(String, TextFormatting.JSON)] =
            [
                ("access_key_id", .string(id)), ("secret_access_key", .string(secret)),
                ("principal", .string(issued.key.principal)), ("state", .string(issued.key.state.name)),
                ("created_at", .string(issued.key.createdAt.iso8601Basic)),
            ] + extra
        print(TextFormatting.JSON.object(fields).compact)
    case .env:
        print("export AWS_ACCESS_KEY_ID=\(id)")
        print("export AWS_SECRET_ACCESS_KEY='\(secret)'")
    case .awsCredentials:
        print("[\(profile ?? issued.key.principal)]")
        print("aws_access_key_id = \(id)")
        print("aws_secret_access_key = \(secret)")
    }
}

struct KeysInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a key store and, unless $SIGV4_KEYSTORE_MASTER_KEY is set, a 0600 master key file.")

    @OptionGroup var options: KeyStoreOptions

    @Flag(
        help: """
            When a key store is already at the path, change nothing and exit 0 once it opens with its master \
            key (waiting up to 30 s for one another 'keys init' is creating): for entrypoints that run \
            'keys init' on every start, replicas sharing a volume among them. (A store an init killed midway \
            left is finished, with or without this flag.)
            """)
    var ifMissing = false

    /// How long `--if-missing` waits for a store another init is creating.
    static let existingStoreWait: Double = 30

    /// Creates `directory` and the missing directories above it (mode 0700), one level at a time, each
    /// new entry synced in its parent: the store and the key file are synced in their directory, and a
    /// power loss must not take that directory (or one above it) away. Existing directories are left
    /// as they are; a failure is left to the store's own open, which names the path.
    ///
    /// ```swift
    /// KeysInit.createDirectories("/var/lib/sigv4/stores")
    /// ```
    static func createDirectories(_ directory: String) {
        var missing: [String] = []
        var path = directory
        while !path.isEmpty, path != "/", !FileManager.default.fileExists(atPath: path) {
            missing.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        for path in missing.reversed() {
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else { return }
            MasterKeyRing.fsyncDirectory(of: path)
        }
    }

    func run() async throws {
        try keysCommand {
            let path = options.path
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { Self.createDirectories(directory) }
            // One init at a time in the directory (replicas sharing a volume start at once). Holding the
            // lock also tells this init that no other is writing the store: one it finds without its
            // master key was left by an init killed midway, and this one finishes it.
            let lock = try DirectoryLock.acquire(directory: directory, waiting: Self.existingStoreWait)
            defer { lock?.release() }
            var resuming = false
            // Claim the path: an owner-only file made new; an init that finds one there is not the one
            // that creates the store, unless the store is unfinished (above).
            let claim = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if claim >= 0 {
                close(claim)
            } else {
                let failure = errno
                guard failure == EEXIST else {
                    throw KeyStoreError(
                        .storage, "cannot create the key store \(path): \(String(cString: strerror(failure)))")
                }
                // What is at the path is finished only if an init could have made it: never through a
                // link, never a file another user made or others may read. Such a file is refused when it
                // holds nothing (it can be no store); one that does is only ever opened as a store.
                let foreign = Self.notMadeByInit(path)
                if let foreign {
                    var target = stat()
                    if stat(path, &target) != 0 || target.st_mode & S_IFMT != S_IFREG || target.st_size == 0 {
                        throw KeyStoreError(
                            .invalidArgument, "\(path) already exists and \(foreign); 'keys init' never takes it over")
                    }
                }
                if lock != nil, foreign == nil, try Self.isUnfinished(path) {
                    resuming = true
                } else if ifMissing {
                    // With the lock held the store is finished (no init is writing it): one look, no wait.
                    let version = try Self.waitForStore(
                        at: path, options: options, waiting: lock == nil ? Self.existingStoreWait : 0)
                    print("key store \(path) exists (master key version \(version)); nothing changed")
                    return
                } else {
                    var info = stat()
                    if lstat(path, &info) == 0, info.st_size == 0 {
                        // Only where the directory cannot be locked: an init may be creating it now.
                        throw KeyStoreError(
                            .invalidArgument,
                            """
                            \(path) already exists and is empty: another 'keys init' is creating the store there, \
                            or one was interrupted (then remove the file and run 'keys init' again)
                            """)
                    }
                    throw KeyStoreError(
                        .invalidArgument, "\(path) already exists; 'keys init' never overwrites a store")
                }
            }
            var initialized = false
            defer {
                // A failure before the store was written (a malformed master key, say) gives the path back.
                var info = stat()
                if !initialized, !resuming, lstat(path, &info) == 0, info.st_size == 0 { unlink(path) }
            }
            let env = options.environment
            let ring: MasterKeyRing
            let source: String
            if options.masterKeyFile == nil, let text = env[MasterKeyRing.environmentVariable], !text.isEmpty {
                ring = try MasterKeyRing.parse(text)
                source = "$\(MasterKeyRing.environmentVariable)"
            } else {
                let keyFile =
                    options.masterKeyFile ?? env[MasterKeyRing.keyFileEnvironmentVariable].flatMap {
                        $0.isEmpty ? nil : $0
                    } ?? MasterKeyRing.defaultKeyFilePath(forStoreAt: path)
                // A key file made by another init started at the same moment (or by hand) is used as it is:
                // the store and the file must agree on one key. But not one another user made: whoever can
                // write in a shared directory could plant a key they know before the first init, and read
                // every secret sealed under it (the file reached through a link is the one judged; root's
                // is trusted, as root could write the store itself). The owner judged is the one of the file
                // read (`fstat` on the descriptor read from), and a file whose owner cannot be told is not used.
                let fresh = try MasterKeyRing.generate()
                if try fresh.createKeyFile(atPath: keyFile) {
                    ring = fresh
                } else {
                    ring = try MasterKeyRing.readKeyFile(atPath: keyFile, requiringOwner: geteuid())
                }
                source = keyFile
            }
            let store = try KeyStore.open(path: path, create: true, masterKeys: ring)
            try store.registerMasterKey(actor: options.actorName)
            initialized = true
            print("initialized key store \(path)\(resuming ? " (finishing what an interrupted 'keys init' began)" : "")")
            print("master key: \(source) (version \(ring.currentVersion)); back it up separately from the store")
        }
    }
}

extension KeysInit {
    /// Whether the store at `path` is one a `keys init` stopped midway left: the claimed file empty or
    /// without the store's tables, or the tables with no master key registered and no principal or key.
    /// Asked only with the directory lock held, when no other init can be writing it.
    static func isUnfinished(_ path: String) throws(KeyStoreError) -> Bool {
        let storage: SQLiteKeyStoreStorage
        do {
            storage = try SQLiteKeyStoreStorage(path: path, create: false)
        } catch where error.code == .storeNotFound {
            return true
        }
        do {
            return try storage.read { reader in
                try reader.masterKeyChecks().isEmpty && reader.principals().isEmpty
                    && reader.keys(principal: nil).isEmpty
            }
        } catch let error as KeyStoreError {
            throw error
        } catch {
            throw KeyStoreError(.storage, "cannot read \(path): \(error)")
        }
    }

    /// Why what is at `path` cannot be a store file an init made (nil when it can be): an init creates
    /// a regular file, owner-only, as its user, never through a link. A symbolic link (dangling or
    /// not), another kind of file, one owned by another user or one others may read or write is never
    /// finished or waited for: a user who could make such a file before the first init would otherwise
    /// get a store they can read (its sealed secrets and audit) or rewrite (a revoked key made active).
    static func notMadeByInit(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }  // gone since: the open says what is wrong
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: return "is a symbolic link"
        default: return "is not a regular file"
        }
        if info.st_uid != geteuid() { return "belongs to another user (uid \(info.st_uid))" }
        if info.st_mode & 0o077 != 0 {
            return "others may read or write it (mode \(String(info.st_mode & 0o777, radix: 8)))"
        }
        return nil
    }

    /// The newest master key version of the store at `path`, once it opens with the master key found
    /// for it and has one registered: at once for a store in use; for one another `keys init` is
    /// creating (its file claimed, its key file or its registration not yet written), after polling
    /// up to `waiting` seconds. A master key that does not open the store
    /// (`wrongMasterKey`, a malformed or exposed key file, another format) fails at once.
    static func waitForStore(at path: String, options: KeyStoreOptions, waiting: Double) throws(KeyStoreError)
        -> UInt32
    {
        let transient: Set<KeyStoreError.Code> = [.storeNotFound, .masterKeyMissing, .corruptStore, .storage]
        let deadline = Date().addingTimeInterval(waiting)
        while true {
            var last: KeyStoreError
            do {
                let store = try KeyStoreLocation.open(
                    path: path, keyFile: options.masterKeyFile, environment: options.environment)
                if let version = try store.newestMasterKeyVersion() { return version }
                last = KeyStoreError(
                    .storage, "\(path) has no master key registered (is another 'keys init' still running?)")
            } catch {
                guard transient.contains(error.code) else { throw error }
                last = error
            }
            guard Date() < deadline else { throw last }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}

struct KeysCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Issue a new access key and print its secret once.")

    @OptionGroup var options: KeyStoreOptions
    @Option(help: "The owning principal (created when missing unless --new-principal is given).")
    var principal: String
    @Flag(help: "Require that the principal does not exist yet; a duplicate is refused.")
    var newPrincipal = false
    @Option(help: "Allowed region (repeatable; default any).") var region: [String] = []
    @Option(help: "Allowed service (repeatable; default any).") var service: [String] = []
    @Option(help: "Allowed HTTP method (repeatable; default any).") var method: [String] = []
    @Option(help: "Allowed path prefix (repeatable; default any).") var pathPrefix: [String] = []
    @Option(help: "Longest presigned URL lifetime in seconds.") var maxPresignLifetime: Int?
    @Option(help: "Not valid before this time (20260101T000000Z).") var notBefore: String?
    @Option(help: "Not valid after this time (20270101T000000Z).") var notAfter: String?
    @Option(help: "A free-text description.") var description: String = ""
    @Option(help: "How to print the secret: json, env, aws-credentials.") var format: SecretFormat = .json
    @Option(help: "Profile name for --format aws-credentials (default: the principal).") var profile: String?

    func run() async throws {
        let scope = KeyScope(
            regions: Set(region), services: Set(service), methods: Set(method.map { $0.uppercased() }),
            pathPrefixes: pathPrefix, maxPresignLifetime: maxPresignLifetime,
            notBefore: try notBefore.map(parseTimestamp), notAfter: try notAfter.map(parseTimestamp))
        // Values no key may have are usage errors (exit 2), as a bad principal is for `keys list`.
        try usageChecked { () throws(KeyStoreError) in
            try KeyStore.validate(principal: principal)
            try KeyStore.validate(scope: scope)
            try KeyStore.validate(description: description)
        }
        try keysCommand {
            let store = try options.open()
            let issued = try store.createKey(
                principal: principal, scope: scope, description: description,
                principalPolicy: newPrincipal ? .mustBeNew : .createIfMissing, actor: options.actorName)
            printIssued(issued, format: format, profile: profile)
        }
    }
}

struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List keys (never their secrets).")

    @OptionGroup var options: KeyStoreOptions
    @Option(help: "Only this principal's keys.") var principal: String?
    @Flag(help: "Include tombstones of deleted keys.") var all = false
    @Option(help: "Age policy: only active or retiring keys older than this many days.") var olderThan: Int?
    @Option(help: "table or json.") var format: ListFormat = .table

    func validate() throws {
        // A name no principal can have: a usage error, not an empty list.
        if let principal {
            try usageChecked { () throws(KeyStoreError) in try KeyStore.validate(principal: principal) }
        }
    }

    func run() async throws {
        try keysCommand {
            let store = try options.open()
            try store.sweepExpired()
            var keys = try store.keys(principal: principal, includeDeleted: all)
            if let olderThan {
                let overdue = Set(try store.agePolicyReport(maxAgeDays: olderThan).map(\.key.accessKeyID))
                keys = keys.filter { overdue.contains($0.accessKeyID) }
            }
            switch format {
            case .json:
                print(TextFormatting.JSON.array(keys.map(KeyJSON.key)).compact)
            case .table:
                print(
                    "ACCESS KEY ID         PRINCIPAL             STATE      CREATED           RETIRE AT         LAST USED"
                )
                for key in keys {
                    var retire = "-"
                    if case .retiring(let at) = key.state { retire = at.iso8601Basic }
                    let row = [
                        key.accessKeyID.padding(toLength: 21, withPad: " ", startingAt: 0),
                        key.principal.padding(toLength: 21, withPad: " ", startingAt: 0),
                        key.state.name.padding(toLength: 10, withPad: " ", startingAt: 0),
                        key.createdAt.iso8601Basic.padding(toLength: 17, withPad: " ", startingAt: 0),
                        retire.padding(toLength: 17, withPad: " ", startingAt: 0),
                        key.lastUsed.map { "\($0.at.iso8601Basic) \($0.region)/\($0.service)" } ?? "never",
                    ]
                    print(row.joined(separator: " "))
                }
            }
        }
    }
}

struct KeysShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one key (never its secret).")

    @OptionGroup var options: KeyStoreOptions
    @Argument(help: "The access key id.") var keyID: String

    func run() async throws {
        try keysCommand {
            let store = try options.open()
            print(KeyJSON.key(try store.key(keyID)).compact)
        }
    }
}

struct KeysRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Issue a new key, print its secret once, and retire the old key after the overlap.")

    @OptionGroup var options: KeyStoreOptions
    @Option(help: "The principal whose key rotates.") var principal: String
    @Option(help: "How long both keys work (seconds, or 30m, 24h, 7d; default 1d).") var overlap: String?
    @Option(name: .customLong("key"), help: "The key to retire, when the principal has several active keys.")
    var keyID: String?
    @Option(help: "How to print the secret: json, env, aws-credentials.") var format: SecretFormat = .json
    @Option(help: "Profile name for --format aws-credentials (default: the principal).") var profile: String?

    func run() async throws {
        let overlapSeconds = try overlap.map(parseDuration)
        try usageChecked { () throws(KeyStoreError) in
            try KeyStore.validate(principal: principal)
            if let overlapSeconds { try KeyStore.validate(overlap: overlapSeconds) }
        }
        try keysCommand {
            let store = try options.open()
            let rotation = try store.rotate(
                principal: principal, overlap: overlapSeconds, retiring: keyID, actor: options.actorName)
            printIssued(
                rotation.issued, format: format, profile: profile,
                extra: [
                    ("retiring_access_key_id", .optional(rotation.retired?.accessKeyID)),
                    ("retires_at", .string(rotation.retiresAt.iso8601Basic)),
                ])
        }
    }
}

struct KeysRetire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire", abstract: "Schedule an active key to retire (signatures dated before then still verify)."
    )

    @OptionGroup var options: KeyStoreOptions
    @Argument(help: "The access key id.") var keyID: String
    @Option(help: "Retire at this time (20260101T000000Z).") var at: String?
    @Option(name: .customLong("in"), help: "Retire after this long (seconds, or 30m, 24h, 7d; default 1d).")
    var after: String?

    func validate() throws {
        if at != nil && after != nil { throw ValidationError("give --at or --in, not both") }
    }

    func run() async throws {
        let when = try at.map(parseTimestamp)
        let delay = try after.map(parseDuration)
        try keysCommand {
            let store = try options.open()
            let time = when ?? delay.map { store.now.adding(seconds: $0) }
            print(KeyJSON.key(try store.retire(keyID: keyID, at: time, actor: options.actorName)).compact)
        }
    }
}

struct KeysDeactivate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deactivate", abstract: "Revoke a key now (running verifiers refuse it within 2 s).")

    @OptionGroup var options: KeyStoreOptions
    @Argument(help: "The access key id.") var keyID: String

    func run() async throws {
        try keysCommand {
            print(KeyJSON.key(try options.open().deactivate(keyID: keyID, actor: options.actorName)).compact)
        }
    }
}

struct KeysActivate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate", abstract: "Make an inactive key active again (within the active-key limit).")

    @OptionGroup var options: KeyStoreOptions
    @Argument(help: "The access key id.") var keyID: String

    func run() async throws {
        try keysCommand {
            print(KeyJSON.key(try options.open().activate(keyID: keyID, actor: options.actorName)).compact)
        }
    }
}

struct KeysDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete an inactive key after the retention period (30 days), leaving a tombstone.")

    @OptionGroup var options: KeyStoreOptions
    @Argument(help: "The access key id.") var keyID: String
    @Flag(help: "Delete before the retention period has passed.") var force = false

    func run() async throws {
        try keysCommand {
            print(KeyJSON.key(try options.open().delete(keyID: keyID, force: force, actor: options.actorName)).compact)
        }
    }
}

struct KeysAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Print the append-only audit log (never contains a secret).")

    @OptionGroup var options: KeyStoreOptions
    @Option(help: "Only events after this sequence number.") var after: Int64 = 0
    @Option(help: "At most this many events.") var limit: Int = 1000
    @Option(help: "Only events about this key.") var key: String?
    @Option(help: "table or json.") var format: ListFormat = .table

    func validate() throws {
        // A malformed id names no key: a usage error, not an empty log.
        if let key { try usageChecked { () throws(KeyStoreError) in try KeyStore.validate(keyID: key) } }
    }

    func run() async throws {
        try keysCommand {
            let store = try options.open()
            // With --key, --limit counts that key's events, searched for through the whole log.
            let events =
                if let key { try store.auditLog(forKey: key, after: after, limit: limit) } else {
                    try store.auditLog(after: after, limit: limit)
                }
            switch format {
            case .json:
                print(
                    TextFormatting.JSON.array(
                        events.map {
                            .object([
                                ("seq", .int(Int($0.sequence))), ("at", .string($0.at.iso8601Basic)),
                                ("actor", .string($0.actor)), ("action", .string($0.action)),
                                ("principal", .optional($0.principal)), ("access_key_id", .optional($0.keyID)),
                                ("detail", .string($0.detail)),
                            ])
                        }
                    ).compact)
            case .table:
                for e in events {
                    print(
                        "\(e.sequence)\t\(e.at.iso8601Basic)\t\(e.actor)\t\(e.action)\t\(e.principal ?? "-")\t\(e.keyID ?? "-")\t\(e.detail)"
                    )
                }
            }
        }
    }
}

struct KeysRewrap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrap",
        abstract: "Move every record to a new master key version, online; optionally drop unused old versions.",
        discussion: """
            With a key file, a new version is generated and saved to the file before any record uses it; then \
            every record's data key is re-wrapped under it, a batch per transaction. With \
            $SIGV4_KEYSTORE_MASTER_KEY, add the new VERSION:HEX entry to the variable yourself; records move to \
            its highest version. --resume finishes an interrupted rewrap without a new version. \
            --drop-unused then removes versions no record uses (from the key file; for the variable it lists \
            them). Secrets themselves are not re-encrypted: only their data keys are.
            """)

    @OptionGroup var options: KeyStoreOptions
    @Flag(help: "Do not generate a new version; move the remaining records to the current one.") var resume = false
    @Flag(help: "Afterwards remove master key versions that no record uses.") var dropUnused = false

    func run() async throws {
        try keysCommand {
            // Check the existing keys against the store before generating anything. The key file is read
            // again if a rewrap running elsewhere has moved records to a version added after the first reading.
            var (store, source) = try KeyStoreLocation.openLocated(
                path: options.path, keyFile: options.masterKeyFile, environment: options.environment)
            if case .file(let keyFile) = source, !resume {
                // Under the store's write lock: another rewrap running now adds its own version, never
                // the same number with another key.
                let ring = try store.addMasterKeyVersion(keyFile: keyFile, actor: options.actorName)
                store = try KeyStore(storage: store.storage, masterKeys: ring, masterKeyFile: keyFile)
            }
            var moved = try store.rewrap(actor: options.actorName)
            // A rewrap started meanwhile registered a newer version and stopped this one: with a key file
            // (which holds that version: it is saved before it is registered), move on to it too, so that
            // this run also ends with every record under the newest version. Bounded by the key file readings.
            var followed = 0
            while case .file(let keyFile) = source, followed < 8,
                let newest = try store.newestMasterKeyVersion(), newest > store.masterKeys.currentVersion
            {
                followed += 1
                let ring = try MasterKeyRing.readKeyFile(atPath: keyFile)
                guard ring.currentVersion > store.masterKeys.currentVersion else { break }
                store = try KeyStore(storage: store.storage, masterKeys: ring, masterKeyFile: keyFile)
                moved += try store.rewrap(actor: options.actorName)
            }
            // Keys from the variable, older than the store's newest: say so rather than report a rewrap that
            // moved nothing. (With a key file, a newer version is a rewrap started after this one's last
            // check, which moves every record itself.)
            if source == .environment, let newest = try store.newestMasterKeyVersion(),
                newest > store.masterKeys.currentVersion
            {
                throw KeyStoreError(
                    .staleMasterKeyRing,
                    "the store has master key version \(newest), newer than version "
                        + "\(store.masterKeys.currentVersion), the highest in \(source); records were not moved "
                        + "to an older version. Supply version \(newest) and run rewrap again")
            }
            var ring = store.masterKeys
            var dropped: [UInt32] = []
            if dropUnused {
                let usage = try store.masterKeyUsage()
                let current = store.masterKeys.currentVersion
                for version in ring.versions where version != current && (usage[version] ?? 0) == 0 {
                    if case .file(let keyFile) = source {
                        // The key file is read and saved again under the store's write lock, keeping any
                        // version another rewrap has added since.
                        ring = try store.dropMasterKey(version: version, keyFile: keyFile, actor: options.actorName)
                    } else {
                        _ = try store.dropMasterKey(version: version, actor: options.actorName)
                        ring = ring.removing(version: version)
                    }
                    dropped.append(version)
                }
            }
            print(
                TextFormatting.JSON.object([
                    ("current_version", .int(Int(ring.currentVersion))), ("moved", .int(moved)),
                    ("dropped_versions", .array(dropped.map { .int(Int($0)) })),
                    ("master_key_source", .string(source.description)),
                ]).compact)
        }
    }
}

/// Opens the key store for `sigv4 verify --keystore` and `sigv4 serve --keystore`: `path`, else `$SIGV4_KEYSTORE`,
/// else the per-user default, with the master key found the same way as `sigv4 keys` finds it. The result is the
/// verifier's `CredentialResolver`; a change made with `sigv4 keys` is seen within 2 s.
///
/// ```swift
/// let verifier = Verifier(resolver: try openKeyStoreResolver(path: keystore))
/// ```
func openKeyStoreResolver(path: String?, masterKeyFile: String? = nil) throws(KeyStoreError) -> KeyStore {
    let environment = ProcessInfo.processInfo.environment
    return try KeyStoreLocation.open(
        path: path ?? KeyStoreLocation.defaultStorePath(environment: environment), keyFile: masterKeyFile,
        environment: environment)
}

/// Runs a key store validation for an option's value, its refusal turned into a usage error (exit 2).
func usageChecked(_ check: () throws(KeyStoreError) -> Void) throws {
    do {
        try check()
    } catch {
        throw ValidationError(error.reason)
    }
}
