public import SigV4
public import SigV4Verifier

/// The life-cycle state of an access key.
///
/// ```
/// active ──retire(at: T)──▶ retiring(T) ──(T + grace, automatic)──▶ inactive ──delete──▶ deleted (tombstone)
///   ▲  │                        │                                      ▲  │
///   │  └──────────────deactivate─┴──────────────────────────────────────┘  │
///   └───────────────────────────────activate────────────────────────────────┘
/// ```
///
/// A retiring key accepts only requests signed strictly before `T`, so
/// presigned URLs issued earlier keep working until they expire.
///
/// ```swift
/// if case .retiring(let at) = key.state { print("retires at \(at)") }
/// ```
public enum KeyState: Sendable, Hashable, CustomStringConvertible {
    /// The key signs and verifies.
    case active
    /// The key accepts only signatures dated strictly before `at`.
    case retiring(at: AmzDate)
    /// The key is refused. It can be activated again or deleted.
    case inactive
    /// The key is gone; only a tombstone (id, owner, history) remains. Its id is never reused.
    case deleted

    /// The state's name as stored and printed: `active`, `retiring`, `inactive`, `deleted`.
    public var name: String {
        switch self {
        case .active: "active"
        case .retiring: "retiring"
        case .inactive: "inactive"
        case .deleted: "deleted"
        }
    }

    /// A printable form that never holds secret material.
    public var description: String {
        if case .retiring(let at) = self { return "retiring(at: \(at.iso8601Basic))" }
        return name
    }
}

/// When and where a key was last used (written behind, not on every request).
///
/// ```swift
/// if let used = key.lastUsed { print(used.at, used.region, used.service) }
/// ```
public struct LastUsed: Sendable, Hashable {
    /// The verifier's time of the last accepted lookup.
    public var at: AmzDate
    /// The region in the request's scope.
    public var region: String
    /// The service in the request's scope.
    public var service: String

    /// Creates a last-used record.
    public init(at: AmzDate, region: String, service: String) {
        self.at = at
        self.region = region
        self.service = service
    }
}

/// An access key as the store describes it: everything except the secret.
///
/// ```swift
/// for key in try store.keys(principal: "alice") { print(key.accessKeyID, key.state) }
/// ```
public struct AccessKey: Sendable, Hashable, CustomStringConvertible {
    /// The 20-character uppercase id, for example `SV4KQ3ZJ7WXN5RT2LMAB`.
    public var accessKeyID: String
    /// The owning principal.
    public var principal: String
    /// The life-cycle state.
    public var state: KeyState
    /// When the state last changed.
    public var stateChangedAt: AmzDate
    /// What the key may sign, including its not-before / not-after window.
    public var scope: KeyScope
    /// When the key was issued.
    public var createdAt: AmzDate
    /// A free-text description.
    public var description: String
    /// The last use seen by a verifier, if any.
    public var lastUsed: LastUsed?
    /// The master key version that wraps this key's data key (nil for a tombstone).
    public var masterKeyVersion: UInt32?

    /// Creates a key description.
    public init(
        accessKeyID: String, principal: String, state: KeyState, stateChangedAt: AmzDate, scope: KeyScope,
        createdAt: AmzDate, description: String, lastUsed: LastUsed?, masterKeyVersion: UInt32?
    ) {
        self.accessKeyID = accessKeyID
        self.principal = principal
        self.state = state
        self.stateChangedAt = stateChangedAt
        self.scope = scope
        self.createdAt = createdAt
        self.description = description
        self.lastUsed = lastUsed
        self.masterKeyVersion = masterKeyVersion
    }
}

/// A key owner: a user, a service or an application.
///
/// ```swift
/// try store.addPrincipal("billing-service", description: "nightly exports", actor: "ops")
/// ```
public struct Principal: Sendable, Hashable {
    /// The unique name (1–128 characters: letters, digits, `._@+=,-`).
    public var name: String
    /// A free-text description.
    public var description: String
    /// When the principal was added.
    public var createdAt: AmzDate

    /// Creates a principal record.
    public init(name: String, description: String, createdAt: AmzDate) {
        self.name = name
        self.description = description
        self.createdAt = createdAt
    }
}

/// A newly issued key together with its secret. The secret is shown once and never stored in clear.
///
/// ```swift
/// let issued = try store.createKey(principal: "alice", actor: "ops")
/// print(issued.accessKeyID, issued.secretAccessKey.revealForDisplay())
/// ```
public struct IssuedKey: Sendable, CustomStringConvertible {
    /// The new key's metadata.
    public var key: AccessKey
    /// The new secret (redacted in every printout).
    public var secretAccessKey: SecretAccessKey
    /// The new id.
    public var accessKeyID: String { key.accessKeyID }
    /// The key as credentials for a signer.
    public var credentials: Credentials { Credentials(accessKeyID: key.accessKeyID, secretAccessKey: secretAccessKey) }

    /// A printable form that never holds secret material.
    public var description: String { "IssuedKey(\(key.accessKeyID), principal: \(key.principal), secret: <redacted>)" }
}

/// The outcome of ``KeyStore/rotate(principal:overlap:retiring:scope:description:actor:)``.
///
/// ```swift
/// let rotation = try store.rotate(principal: "alice", overlap: 3600, actor: "ops")
/// print(rotation.issued.accessKeyID, rotation.retired.map(\.accessKeyID) ?? "-")
/// ```
public struct Rotation: Sendable, CustomStringConvertible {
    /// The new key and its secret.
    public var issued: IssuedKey
    /// The key that is now retiring, if there was one.
    public var retired: AccessKey?
    /// The instant after which the retired key refuses new signatures.
    public var retiresAt: AmzDate

    /// A printable form that never holds secret material.
    public var description: String {
        "Rotation(new: \(issued.accessKeyID), retiring: \(retired?.accessKeyID ?? "none") at \(retiresAt))"
    }
}

/// One entry of the append-only audit log. It never holds a secret.
///
/// ```swift
/// for event in try store.auditLog() { print(event.sequence, event.action, event.keyID ?? "-") }
/// ```
public struct AuditEvent: Sendable, Hashable {
    /// Increasing sequence number assigned by the store.
    public var sequence: Int64
    /// When the change happened.
    public var at: AmzDate
    /// Who made it (`$USER@host` for the CLI, a name given by the caller, or `system`).
    public var actor: String
    /// What happened, for example `key.create`, `key.retire`, `masterkey.rewrap`.
    public var action: String
    /// The principal concerned, if any.
    public var principal: String?
    /// The key concerned, if any.
    public var keyID: String?
    /// Extra detail (`retire_at=…`, `from=active`), never secret.
    public var detail: String

    /// Creates an event (the sequence is assigned by the storage when appended).
    public init(
        sequence: Int64 = 0, at: AmzDate, actor: String, action: String, principal: String?, keyID: String?,
        detail: String
    ) {
        self.sequence = sequence
        self.at = at
        self.actor = actor
        self.action = action
        self.principal = principal
        self.keyID = keyID
        self.detail = detail
    }
}

/// A finding of the age policy: an active or retiring key older than the limit.
///
/// ```swift
/// for finding in try store.agePolicyReport(maxAgeDays: 90) { print(finding.key.accessKeyID, finding.ageDays) }
/// ```
public struct AgeFinding: Sendable, Hashable {
    /// The key.
    public var key: AccessKey
    /// Its age in whole days.
    public var ageDays: Int64
}
