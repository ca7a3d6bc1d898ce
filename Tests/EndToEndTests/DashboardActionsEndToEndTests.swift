import Foundation
import Testing

/// Store and key actions and a guided remedy, driven through the real binary in tmux.
@Suite(.serialized) struct DashboardActionsEndToEndTests {
  let harness = DashboardEndToEndTests()

  /// The table row of `name` (waited for, so it is a whole frame).
  func row(_ t: TmuxSession, _ name: String, shows text: String, timeout: TimeInterval = 20) {
    t.waitFor("\(name) shows \(text)", timeout: timeout) { screen in
      screen.split(separator: "\n").contains { $0.contains(name) && $0.contains(text) }
    }
  }

  func createStore(_ t: TmuxSession, _ name: String) {
    t.send("n")
    t.waitFor(shows: ["Create a CloudHSM key store", "cluster-sparefree6q"])
    t.type(name)
    t.send("Down", "Down")
    t.type(repositoryRoot.appendingPathComponent("assets/certs/customerCA.crt").path)
    t.send("Down")
    t.type("DemoPassw0rd")
    t.waitFor("kmsuser password:  ••••••••••••")
    t.send("Tab", "Enter")
    t.waitFor("CreateCustomKeyStore accepted for \(name)")
    row(t, name, shows: "○ DISCONNECTED")
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func createDeleteCreateConnectThenAKeysLife() throws {
    let t = try harness.start("--time-scale 10")
    t.waitFor("payments-prod")

    // Create a store and delete it (DISCONNECTED, no keys, its name typed).
    createStore(t, "e2e-store")
    t.send("X")
    t.waitFor(shows: ["Delete custom key store", "Delete e2e-store (cks-", "This cannot be undone."])
    t.send("Tab", "Enter")
    t.waitFor("Type \"e2e-store\" or \"cks-")  // refused until typed
    t.type("e2e-store")
    t.send("Enter")
    t.waitFor(shows: ["DeleteCustomKeyStore accepted"], lacks: ["e2e-store  "])

    // Create it again (the cluster is free again), connect it.
    createStore(t, "e2e-store")
    t.send("c")
    t.waitFor("Connect e2e-store (cks-")
    t.send("y")
    row(t, "e2e-store", shows: "● CONNECTED")

    // Its keys: create one with an alias, disable, schedule deletion, cancel it.
    t.send("Enter")
    t.waitFor(shows: ["Keys of e2e-store", "This store has no KMS keys"])
    t.send("n")
    t.waitFor("Create a KMS key")
    t.type("E2E orders")
    t.send("Down")
    t.type("alias/e2e/orders")
    t.send("Tab", "Enter")
    row(t, "alias/e2e/orders", shows: "Enabled")
    t.send("D")
    t.waitFor(shows: ["Disable KMS key", "alias alias/e2e/orders stop working"])
    t.send("y")
    row(t, "alias/e2e/orders", shows: "Disabled")
    t.send("x")
    t.waitFor(shows: ["Schedule key deletion", "Waiting period (7–30 days): 30"])
    t.type("alias/e2e/orders")
    t.send("Up", "C-u")
    t.type("7")
    t.send("Tab", "Enter")
    row(t, "alias/e2e/orders", shows: "PendingDeletion")
    t.waitFor("ScheduleKeyDeletion accepted for")
    t.send("u")
    t.waitFor("Cancel the pending deletion of")
    t.send("y")
    row(t, "alias/e2e/orders", shows: "Disabled")

    // The store cannot be deleted while it holds the key: the reason, no dialog.
    t.send("Escape")
    t.send("X")
    t.waitFor("Cannot delete e2e-store: it is CONNECTED; only a DISCONNECTED store can be deleted")

    t.send("q")
    harness.expectSaneExit(t, code: 0)
  }

  @Test(.enabled(if: tmuxPath != nil || isCI, Comment(rawValue: tmuxMissingMessage)))
  func guidedRemedyFromFailedToConnected() throws {
    let t = try harness.start("--time-scale 10")
    t.waitFor("FAILED USER_LOCKED_OUT")
    t.send("/")
    t.type("ledger")
    t.send("Enter")
    t.waitFor("filter \"ledger\": 1 of 9")
    t.send("R")
    t.waitFor(shows: [
      "Guided remedy: USER_LOCKED_OUT", "▶ 1. Disconnect the store", "Next connect: FAILED (USER_LOCKED_OUT)",
    ])
    t.send("Enter")
    t.waitFor("✓ 1. Disconnect the store (clears the error code): DISCONNECTED", timeout: 20)
    // 2. A new kmsuser password in the cluster, typed masked.
    t.send("Enter")
    t.waitFor("Set the kmsuser password in the cluster")
    t.type("N3w-Passw0rd")
    t.waitFor("new kmsuser password: ••••••••••••")
    #expect(!t.screen().contains("N3w-Passw0rd"))
    t.send("Tab", "Enter")
    t.waitFor(shows: [
      "✓ 2. Set a new kmsuser password in the cluster (typed masked): set in cluster-ledgerarch4",
      // KMS still has the old password: the next connect would fail until step 3.
      "Next connect: FAILED (INVALID_CREDENTIALS)",
    ])
    // 3. UpdateCustomKeyStore with that password, filled in and masked.
    t.send("Enter")
    t.waitFor(shows: ["Filled in: the password just set in the cluster.", "kmsuser password: ••••••••••••"])
    t.send("Tab", "Enter")
    t.waitFor(shows: [
      "✓ 3. Tell KMS the kmsuser password (UpdateCustomKeyStore): KeyStorePassword updated",
      "Next connect: CONNECTED",
    ])
    t.send("Enter")
    t.waitFor("✓ 4. Connect the store: CONNECTED", timeout: 20)
    t.send("Escape")
    row(t, "ledger-archive", shows: "● CONNECTED")
    t.send("q")
    harness.expectSaneExit(t, code: 0)
  }
}
