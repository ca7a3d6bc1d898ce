import Foundation
import KMSModel
import TerminalUI

/// Everything that can happen to the dashboard.
public enum Msg: Sendable, Equatable {
  case key(Key)
  /// A click or the wheel, received at `at` (two presses on the same thing close together are a
  /// double-click).
  case mouse(MouseEvent, at: Date)
  case resize(Size)
  /// The clock advanced (animation tick while something is transient).
  case tick(Date)
  /// A fresh snapshot of the fleet, received at `at`.
  case snapshot(FleetSnapshot, at: Date)
  /// One committed change of the fleet, received at `at`.
  case delta(FleetDelta, at: Date)
  case loadFailed(code: KMSErrorCode, message: String)
  /// The backend accepted `operation`. The change itself arrives on the delta stream.
  case operationSucceeded(FleetOperation, result: OperationResult)
  /// The backend refused `operation`: an error line, never a state change.
  case operationFailed(FleetOperation, code: KMSErrorCode, message: String)
  /// A file the dashboard was asked to write (`:export`, `:events`) was written or not.
  case fileWritten(path: String, bytes: Int, error: String?)
  case prediction(storeId: String, String)
  /// The simulator set (or refused to set) the kmsuser password of a cluster.
  case kmsuserPasswordSet(clusterId: String, error: String?)
  /// The faults of the embedded XKS proxy behind a store.
  case xksFaults(storeId: String, Set<XKSQAFault>)
  /// A line for the status bar (a QA control failed).
  case status(StatusMessage)
  /// SIGINT, SIGTERM, SIGHUP (or a closed pty).
  case signal(Int32)
}

/// What an accepted operation answered.
public enum OperationResult: Sendable, Equatable {
  case done
  case createdStore(CustomKeyStoreID)
  case createdKey(KeyID)
  /// ScheduleKeyDeletion: when the key will be deleted.
  case deletionDate(Date?)
}

/// A value that must never be shown, logged or printed (a key store password). Its description
/// is a fixed mask; only the runtime reads `revealed` to hand it to the backend.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
  public let revealed: String
  public init(_ value: String) { revealed = value }
  public var description: String { "••••••" }
  public var debugDescription: String { "Secret(••••••)" }
}

/// One change the dashboard asks the backend for, by typed identifier.
public enum FleetOperation: Sendable, Equatable {
  case connect(CustomKeyStoreID)
  case disconnect(CustomKeyStoreID)
  case enableKey(KeyID)
  case disableKey(KeyID)
  case scheduleKeyDeletion(KeyID, days: Int)
  case cancelKeyDeletion(KeyID)
  case createKey(CustomKeyStoreID, description: String, alias: AliasName?)
  case createAlias(AliasName, key: KeyID)
  case deleteAlias(AliasName)
  /// The trust anchor is read from `trustAnchorPath` when the operation runs.
  case createStore(name: String, cluster: ClusterID, trustAnchorPath: String, password: Secret)
  case renameStore(CustomKeyStoreID, name: String)
  case setStorePassword(CustomKeyStoreID, Secret)
  case deleteStore(CustomKeyStoreID)

  /// The dialog action this operation carries out.
  public var action: DialogAction {
    switch self {
    case .connect: .connect
    case .disconnect: .disconnect
    case .enableKey: .enableKey
    case .disableKey: .disableKey
    case .scheduleKeyDeletion: .scheduleKeyDeletion
    case .cancelKeyDeletion: .cancelKeyDeletion
    case .createKey: .createKey
    case .createAlias: .addAlias
    case .deleteAlias: .removeAlias
    case .createStore: .createStore
    case .renameStore: .renameStore
    case .setStorePassword: .changePassword
    case .deleteStore: .deleteStore
    }
  }

  /// The AWS operation, as status lines name it.
  public var operation: String { action.operation }

  /// What the operation acts on (never a secret).
  public var target: String {
    switch self {
    case .connect(let id), .disconnect(let id), .createKey(let id, _, _), .renameStore(let id, _),
      .setStorePassword(let id, _), .deleteStore(let id):
      id.rawValue
    case .enableKey(let k), .disableKey(let k), .scheduleKeyDeletion(let k, _), .cancelKeyDeletion(let k):
      k.rawValue
    case .createAlias(let a, _), .deleteAlias(let a): a.rawValue
    case .createStore(let name, _, _, _): name
    }
  }

  /// The store this operation concerns, when it names one.
  public var storeId: CustomKeyStoreID? {
    switch self {
    case .connect(let id), .disconnect(let id), .createKey(let id, _, _), .renameStore(let id, _),
      .setStorePassword(let id, _), .deleteStore(let id):
      id
    default: nil
    }
  }
}

/// Work for the runtime; results come back as messages.
public enum Effect: Sendable, Equatable {
  case loadSnapshot
  /// A store or key operation on the backend.
  case perform(FleetOperation)
  case setFault(SimulatorFault, enabled: Bool, clusterId: String)
  /// Sets the kmsuser password in a simulated cluster (the runbook's "set a new kmsuser password").
  case setKmsuserPassword(clusterId: String, password: Secret)
  case setHsmFailed(clusterId: String, hsmId: String, failed: Bool)
  case createHsm(clusterId: String, availabilityZone: String)
  case deleteHsm(clusterId: String, hsmId: String)
  case predictConnect(storeId: String)
  case loadXKSFaults(storeId: String)
  case setXKSFault(XKSQAFault, enabled: Bool, storeId: String)
  /// Write `contents` to `path` (`:export`, `:events`).
  case writeFile(path: String, contents: Data)
  /// Forget the previous frame and repaint everything (Ctrl-L).
  case redraw
  case quit(Int32)

  public static func connect(storeId: String) -> Effect {
    .perform(.connect(CustomKeyStoreID(unchecked: storeId)))
  }
  public static func disconnect(storeId: String) -> Effect {
    .perform(.disconnect(CustomKeyStoreID(unchecked: storeId)))
  }

  /// True for every effect that changes the engine or the simulator.
  public var isMutating: Bool {
    switch self {
    case .perform, .setFault, .setKmsuserPassword, .setHsmFailed, .createHsm, .deleteHsm, .setXKSFault: true
    case .loadSnapshot, .predictConnect, .loadXKSFaults, .writeFile, .redraw, .quit: false
    }
  }
}
