import Foundation
import TerminalUI
import Testing

@testable import Dashboard

/// Text snapshots of every screen, pane, dialog and overlay at two sizes (120x30 and 80x24).
/// Clock, time zone and fixture are fixed, so the output is deterministic.
@Suite struct ViewSnapshotTests {
  static func rendered(_ name: String, _ size: Size) -> Buffer {
    let state = ViewScenarios.all(size).first { $0.0 == name }!.1
    return view(state)
  }

  @Test func commandLine120x30() {
    #expect(
      Self.rendered("commandLine", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: analytics-dr  (e: events) ──────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      analytics-dr                                                                                  │
        │CustomKeyStoreId        cks-0de30000000000002                                                                         │
        │CustomKeyStoreType      AWS_CLOUDHSM                                                                                  │
        │ConnectionState         DISCONNECTED since 12:13:20                                                                   │
        │CreationDate            2026-08-22 14:13                                                                              │
        │CloudHsmClusterId       cluster-analyticsdr (ACTIVE), 2/2 HSMs ACTIVE                                                 │
        │  us-east-1a            hsm-ddddddddddd ACTIVE                                                                        │
        │  us-east-1b            hsm-eeeeeeeeeee ACTIVE                                                                        │
        │TrustAnchorCertificate  PEM, 58 characters                                                                            │
        │KMS keys                1: Unavailable 1                                                                              │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        :connect cks-0de3000000000000
        cks-0de30000000000001  cks-0de30000000000002  cks-0de30000000000004  cks-0de30000000000005
        """)
  }

  @Test func commandLine80x24() {
    #expect(
      Self.rendered("commandLine", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │staging-keys      ⠋ CONNECTING 12s         cks-0de30000000000005     0 2/2 2AZ│
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: analytics-dr  (e: events) ──────────────────────────────────────────┐
        │CustomKeyStoreName      analytics-dr                                          │
        │CustomKeyStoreId        cks-0de30000000000002                                 │
        │CustomKeyStoreType      AWS_CLOUDHSM                                          │
        │ConnectionState         DISCONNECTED since 12:13:20                           │
        │CreationDate            2026-08-22 14:13                                      │
        │CloudHsmClusterId       cluster-analyticsdr (ACTIVE), 2/2 HSMs ACTIVE         │
        │  us-east-1a            hsm-ddddddddddd ACTIVE                                │
        │  us-east-1b            hsm-eeeeeeeeeee ACTIVE                                │
        │TrustAnchorCertificate  PEM, 58 characters                                    │
        │KMS keys                1: Unavailable 1                                      │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
        :connect cks-0de3000000000000
        cks-0de30000000000001  cks-0de30000000000002  cks-0de30000000000004  cks-0de300…
        """)
  }

  @Test func connectDialog120x30() {
    #expect(
      Self.rendered("connectDialog", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: analytics-dr  (e: events) ──────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      analytics-dr                                                                                  │
        │CustomKeyStoreId        ┌─ Connect custom key store ─────────────────────────────────────────┐                        │
        │CustomKeyStoreType      │ Connect analytics-dr (cks-0de30000000000002)?                      │                        │
        │ConnectionState         │ The store shows CONNECTING, then CONNECTED, or FAILED with a       │                        │
        │CreationDate            │ connection error code. In AWS a CloudHSM connect can take up to 20 │                        │
        │CloudHsmClusterId       │ minutes.                                                           │                        │
        │  us-east-1a            │                                                                    │                        │
        │  us-east-1b            │                      [ Cancel ]    Connect                         │                        │
        │TrustAnchorCertificate  └────────────────────────────────────────────────────────────────────┘                        │
        │KMS keys                1: Unavailable 1                                                                              │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        y confirm  n/Esc cancel  Tab focus  Enter press focused
        """)
  }

  @Test func connectDialog80x24() {
    #expect(
      Self.rendered("connectDialog", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │staging-keys      ⠋ CONNECTING 12s         cks-0de30000000000005     0 2/2 2AZ│
        └────┌─ Connect custom key store ─────────────────────────────────────────┐────┘
        ┌─ De│ Connect analytics-dr (cks-0de30000000000002)?                      │────┐
        │Cust│ The store shows CONNECTING, then CONNECTED, or FAILED with a       │    │
        │Cust│ connection error code. In AWS a CloudHSM connect can take up to 20 │    │
        │Cust│ minutes.                                                           │    │
        │Conn│                                                                    │    │
        │Crea│                      [ Cancel ]    Connect                         │    │
        │Clou└────────────────────────────────────────────────────────────────────┘    │
        │  us-east-1a            hsm-ddddddddddd ACTIVE                                │
        │  us-east-1b            hsm-eeeeeeeeeee ACTIVE                                │
        │TrustAnchorCertificate  PEM, 58 characters                                    │
        │KMS keys                1: Unavailable 1                                      │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘

        y confirm  n/Esc cancel  Tab focus  Enter press focused
        """)
  }

  @Test func disconnectDialog120x30() {
    #expect(
      Self.rendered("disconnectDialog", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: payments-prod  (e: events) ─────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      payments-prod                                                                                 │
        │CustomKeyStoreId        ┌─ Disconnect custom key store ──────────────────────────────────────┐                        │
        │CustomKeyStoreType      │ Disconnect payments-prod (cks-0de30000000000001)?                  │                        │
        │ConnectionState         │ 3 KMS keys become Unavailable (aliases                             │                        │
        │CreationDate            │ alias/payments/tokenization, alias/payments/pin).                  │                        │
        │CloudHsmClusterId       │ Creating keys in this store and all cryptographic operations with  │                        │
        │  us-east-1a            │ its keys will fail until it is connected again.                    │                        │
        │  us-east-1b            │                                                                    │                        │
        │  us-east-1c            │                     [ Cancel ]    Disconnect                       │                        │
        │TrustAnchorCertificate  └────────────────────────────────────────────────────────────────────┘                        │
        │KMS keys                4: Disabled 1, Enabled 2, PendingDeletion 1                                                   │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        y confirm  n/Esc cancel  Tab focus  Enter press focused
        """)
  }

  @Test func disconnectDialog80x24() {
    #expect(
      Self.rendered("disconnectDialog", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │staging-keys      ⠋ CONNECTING 12s         cks-0de30000000000005     0 2/2 2AZ│
        └────┌─ Disconnect custom key store ──────────────────────────────────────┐────┘
        ┌─ De│ Disconnect payments-prod (cks-0de30000000000001)?                  │────┐
        │Cust│ 3 KMS keys become Unavailable (aliases                             │    │
        │Cust│ alias/payments/tokenization, alias/payments/pin).                  │    │
        │Cust│ Creating keys in this store and all cryptographic operations with  │    │
        │Conn│ its keys will fail until it is connected again.                    │    │
        │Crea│                                                                    │    │
        │Clou│                     [ Cancel ]    Disconnect                       │    │
        │  us└────────────────────────────────────────────────────────────────────┘    │
        │  us-east-1b            hsm-bbbbbbbbbbb ACTIVE                                │
        │  us-east-1c            hsm-ccccccccccc DEGRADED                              │
        │TrustAnchorCertificate  PEM, 58 characters                                    │
        │KMS keys                4: Disabled 1, Enabled 2, PendingDeletion 1           │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘

        y confirm  n/Esc cancel  Tab focus  Enter press focused
        """)
  }

  @Test func events120x30() {
    #expect(
      Self.rendered("events", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Events, newest first  (e: detail) ──────────────────────────────────────────────────────────────────────────────────┐
        │14:13:08  staging-keys DISCONNECTED → CONNECTING                                                                      │
        │14:03:20  ledger-archive CONNECTING → FAILED (USER_LOCKED_OUT)                                                        │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : command  s sort  e events  f faults
        """)
  }

  @Test func events80x24() {
    #expect(
      Self.rendered("events", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │staging-keys      ⠋ CONNECTING 12s         cks-0de30000000000005     0 2/2 2AZ│
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌─ Events, newest first  (e: detail) ──────────────────────────────────────────┐
        │14:13:08  staging-keys DISCONNECTED → CONNECTING                              │
        │14:03:20  ledger-archive CONNECTING → FAILED (USER_LOCKED_OUT)                │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : comm…
        """)
  }

  @Test func failedDetail120x30() {
    #expect(
      Self.rendered("failedDetail", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: ledger-archive  (e: events) ────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      ledger-archive                                                                                │
        │CustomKeyStoreId        cks-0de30000000000004                                                                         │
        │CustomKeyStoreType      AWS_CLOUDHSM                                                                                  │
        │ConnectionState         FAILED since 14:03:20                                                                         │
        │ConnectionErrorCode     USER_LOCKED_OUT                                                                               │
        │  Meaning               The kmsuser crypto user is locked out of the cluster after too many failed logins.            │
        │  Remedy                Disconnect, change the kmsuser password in the cluster, update KeyStorePassword, then         │
        │                        connect.                                                                                      │
        │CreationDate            2026-08-22 14:13                                                                              │
        │CloudHsmClusterId       cluster-ledgerarch4 (ACTIVE), 2/2 HSMs ACTIVE                                                 │
        │  us-east-1a            hsm-fffffffffff ACTIVE                                                                        │
        │  us-east-1c            hsm-ggggggggggg ACTIVE                                                                        │
        │TrustAnchorCertificate  PEM, 58 characters                                                                            │
        │KMS keys                1: Unavailable 1                                                                              │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : command  s sort  e events  f faults
        """)
  }

  @Test func failedDetail80x24() {
    #expect(
      Self.rendered("failedDetail", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │staging-keys      ⠋ CONNECTING 12s         cks-0de30000000000005     0 2/2 2AZ│
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: ledger-archive  (e: events) ────────────────────────────────────────┐
        │CustomKeyStoreName      ledger-archive                                        │
        │CustomKeyStoreId        cks-0de30000000000004                                 │
        │CustomKeyStoreType      AWS_CLOUDHSM                                          │
        │ConnectionState         FAILED since 14:03:20                                 │
        │ConnectionErrorCode     USER_LOCKED_OUT                                       │
        │  Meaning               The kmsuser crypto user is locked out of the cluster  │
        │                        after too many failed logins.                         │
        │  Remedy                Disconnect, change the kmsuser password in the        │
        │                        cluster, update KeyStorePassword, then connect.       │
        │CreationDate            2026-08-22 14:13                                      │
        │CloudHsmClusterId       cluster-ledgerarch4 (ACTIVE), 2/2 HSMs ACTIVE         │
        │  us-east-1a            hsm-fffffffffff ACTIVE                                │
        └──────────────────────────────────────────────────────────────────────────────┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : comm…
        """)
  }

  @Test func filter120x30() {
    #expect(
      Self.rendered("filter", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores (filter "prod": 1 of 4) ──────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: payments-prod  (e: events) ─────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      payments-prod                                                                                 │
        │CustomKeyStoreId        cks-0de30000000000001                                                                         │
        │CustomKeyStoreType      AWS_CLOUDHSM                                                                                  │
        │ConnectionState         CONNECTED since 13:13:20                                                                      │
        │CreationDate            2026-08-22 14:13                                                                              │
        │CloudHsmClusterId       cluster-paymentsprd (ACTIVE), 2/3 HSMs ACTIVE                                                 │
        │  us-east-1a            hsm-aaaaaaaaaaa ACTIVE                                                                        │
        │  us-east-1b            hsm-bbbbbbbbbbb ACTIVE                                                                        │
        │  us-east-1c            hsm-ccccccccccc DEGRADED                                                                      │
        │TrustAnchorCertificate  PEM, 58 characters                                                                            │
        │KMS keys                4: Disabled 1, Enabled 2, PendingDeletion 1                                                   │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        /prod
        Enter keep filter  Esc clear
        """)
  }

  @Test func filter80x24() {
    #expect(
      Self.rendered("filter", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores (filter "prod": 1 of 4) ──────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: payments-prod  (e: events) ─────────────────────────────────────────┐
        │CustomKeyStoreName      payments-prod                                         │
        │CustomKeyStoreId        cks-0de30000000000001                                 │
        │CustomKeyStoreType      AWS_CLOUDHSM                                          │
        │ConnectionState         CONNECTED since 13:13:20                              │
        │CreationDate            2026-08-22 14:13                                      │
        │CloudHsmClusterId       cluster-paymentsprd (ACTIVE), 2/3 HSMs ACTIVE         │
        │  us-east-1a            hsm-aaaaaaaaaaa ACTIVE                                │
        │  us-east-1b            hsm-bbbbbbbbbbb ACTIVE                                │
        │  us-east-1c            hsm-ccccccccccc DEGRADED                              │
        │TrustAnchorCertificate  PEM, 58 characters                                    │
        │KMS keys                4: Disabled 1, Enabled 2, PendingDeletion 1           │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
        /prod
        Enter keep filter  Esc clear
        """)
  }

  @Test func help120x30() {
    #expect(
      Self.rendered("help", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──┌─ Keys (Esc closes) ───────────────────────────────────────────────────┐───────────────────────┐
        │NAME▲             ID  │ Move                                                                  │    TYPE     CREATED   │
        │analytics-dr      cks-│ j / ↓           next row                                              │sdr CloudHSM 2026-08-22│
        │ledger-archive    cks-│ k / ↑           previous row                                          │ch4 CloudHSM 2026-08-22│
        │payments-prod     cks-│ PgDn / PgUp     page down / up                                        │prd CloudHSM 2026-08-22│
        │staging-keys      cks-│ Home / g        first row                                             │nv3 CloudHSM 2026-08-22│
        └──────────────────────│ End / G         last row                                              │───────────────────────┘
        ┌─ Detail: analytics-dr│                                                                       │───────────────────────┐
        │CustomKeyStoreName    │ Stores                                                                │                       │
        │CustomKeyStoreId      │ d               disconnect the selected store (confirm)               │                       │
        │CustomKeyStoreType    │ c               connect the selected store (confirm)                  │                       │
        │ConnectionState       │ Enter           keys of the selected store                            │                       │
        │CreationDate          │ f               QA panel: faults of the store's cluster               │                       │
        │CloudHsmClusterId     │ r               reload from the backend                               │                       │
        │  us-east-1a          │                                                                       │                       │
        │  us-east-1b          │ View                                                                  │                       │
        │TrustAnchorCertificate│ /               filter: name, ID, cluster, state (Esc clears)         │                       │
        │KMS keys              │ s / S           sort by next column / reverse order                   │                       │
        │                      │ 1 … 8           sort by column N                                      │                       │
        │                      │ e               toggle detail / event history pane                    │                       │
        │                      │ Esc             back, close, cancel                                   │                       │
        │                      │ Ctrl-L          redraw the screen                                     │                       │
        │                      │                                                                       │                       │
        │                      │ Dialogs                                                               │                       │
        │                      │ y / Enter       confirm (Enter on the focused button)                 │                       │
        │                      │ n / Esc         cancel                                                │                       │
        └──────────────────────└─────────────────────────────────────────────────────────────────↓ more┘───────────────────────┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : command  s sort  e events  f faults
        """)
  }

  @Test func help80x24() {
    #expect(
      Self.rendered("help", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ ┌─ Keys (Esc closes) ───────────────────────────────────────────────────┐───┐
        │NA│ Move                                                                  │   │
        │an│ j / ↓           next row                                              │2AZ│
        │le│ k / ↑           previous row                                          │2AZ│
        │pa│ PgDn / PgUp     page down / up                                        │3AZ│
        │st│ Home / g        first row                                             │2AZ│
        └──│ End / G         last row                                              │───┘
        ┌─ │                                                                       │───┐
        │Cu│ Stores                                                                │   │
        │Cu│ d               disconnect the selected store (confirm)               │   │
        │Cu│ c               connect the selected store (confirm)                  │   │
        │Co│ Enter           keys of the selected store                            │   │
        │Cr│ f               QA panel: faults of the store's cluster               │   │
        │Cl│ r               reload from the backend                               │   │
        │  │                                                                       │   │
        │  │ View                                                                  │   │
        │Tr│ /               filter: name, ID, cluster, state (Esc clears)         │   │
        │KM│ s / S           sort by next column / reverse order                   │   │
        │  │ 1 … 8           sort by column N                                      │   │
        │  │ e               toggle detail / event history pane                    │   │
        └──└─────────────────────────────────────────────────────────────────↓ more┘───┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : comm…
        """)
  }

  @Test func keys120x30() {
    #expect(
      Self.rendered("keys", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Keys of payments-prod (cks-0de30000000000001): 4, store CONNECTED  (Esc: back) ─────────────────────────────────────┐
        │KEY ID                               STATE           SPEC / USE        ROT ALIASES            TAGS   DESCRIPTION      │
        │00000000-0000-4000-8000-000000000001 Enabled         SYMMETRIC_DEFAULT —   alias/payments/to…        Card tokenization│
        │00000000-0000-4000-8000-000000000002 Enabled         SYMMETRIC_DEFAULT —   alias/payments/pin        PIN block wrappi…│
        │00000000-0000-4000-8000-000000000003 Disabled        SYMMETRIC_DEFAULT —                             Legacy gateway   │
        │00000000-0000-4000-8000-000000000004 PendingDeletion SYMMETRIC_DEFAULT —   alias/old-export          Old export       │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        Esc back  j/k move  d disconnect  c connect  ? help  q quit
        """)
  }

  @Test func keys80x24() {
    #expect(
      Self.rendered("keys", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Keys of payments-prod (cks-0de30000000000001): 4, store CONNECTED  (Esc: … ─┐
        │KEY ID                               STATE           SPEC / USE        ROT    │
        │00000000-0000-4000-8000-000000000001 Enabled         SYMMETRIC_DEFAULT —      │
        │00000000-0000-4000-8000-000000000002 Enabled         SYMMETRIC_DEFAULT —      │
        │00000000-0000-4000-8000-000000000003 Disabled        SYMMETRIC_DEFAULT —      │
        │00000000-0000-4000-8000-000000000004 PendingDeletion SYMMETRIC_DEFAULT —      │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘

        Esc back  j/k move  d disconnect  c connect  ? help  q quit
        """)
  }

  @Test func main120x30() {
    #expect(
      Self.rendered("main", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: analytics-dr  (e: events) ──────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      analytics-dr                                                                                  │
        │CustomKeyStoreId        cks-0de30000000000002                                                                         │
        │CustomKeyStoreType      AWS_CLOUDHSM                                                                                  │
        │ConnectionState         DISCONNECTED since 12:13:20                                                                   │
        │CreationDate            2026-08-22 14:13                                                                              │
        │CloudHsmClusterId       cluster-analyticsdr (ACTIVE), 2/2 HSMs ACTIVE                                                 │
        │  us-east-1a            hsm-ddddddddddd ACTIVE                                                                        │
        │  us-east-1b            hsm-eeeeeeeeeee ACTIVE                                                                        │
        │TrustAnchorCertificate  PEM, 58 characters                                                                            │
        │KMS keys                1: Unavailable 1                                                                              │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : command  s sort  e events  f faults
        """)
  }

  @Test func main80x24() {
    #expect(
      Self.rendered("main", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │staging-keys      ⠋ CONNECTING 12s         cks-0de30000000000005     0 2/2 2AZ│
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: analytics-dr  (e: events) ──────────────────────────────────────────┐
        │CustomKeyStoreName      analytics-dr                                          │
        │CustomKeyStoreId        cks-0de30000000000002                                 │
        │CustomKeyStoreType      AWS_CLOUDHSM                                          │
        │ConnectionState         DISCONNECTED since 12:13:20                           │
        │CreationDate            2026-08-22 14:13                                      │
        │CloudHsmClusterId       cluster-analyticsdr (ACTIVE), 2/2 HSMs ACTIVE         │
        │  us-east-1a            hsm-ddddddddddd ACTIVE                                │
        │  us-east-1b            hsm-eeeeeeeeeee ACTIVE                                │
        │TrustAnchorCertificate  PEM, 58 characters                                    │
        │KMS keys                1: Unavailable 1                                      │
        │                                                                              │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘

        q quit  ? help  j/k move  Enter keys  d disconnect  c connect  / filter  : comm…
        """)
  }

  @Test func offerDisconnectDialog120x30() {
    #expect(
      Self.rendered("offerDisconnectDialog", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: ledger-archive  (e: events) ────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      ┌─ Cannot connect ledger-archive ────────────────────────────────────┐                        │
        │CustomKeyStoreId        │ ledger-archive (cks-0de30000000000004) is FAILED                   │                        │
        │CustomKeyStoreType      │ (USER_LOCKED_OUT). A FAILED store must be disconnected first;      │                        │
        │ConnectionState         │ connecting it now would fail with                                  │                        │
        │ConnectionErrorCode     │ CustomKeyStoreInvalidStateException.                               │                        │
        │  Meaning               │ Remedy: Disconnect, change the kmsuser password in the cluster,    │iled logins.            │
        │  Remedy                │ update KeyStorePassword, then connect.                             │ePassword, then         │
        │                        │ Disconnect it first?                                               │                        │
        │CreationDate            │                                                                    │                        │
        │CloudHsmClusterId       │                    [ Cancel ]    Disconnect…                       │                        │
        │  us-east-1a            └────────────────────────────────────────────────────────────────────┘                        │
        │  us-east-1c            hsm-ggggggggggg ACTIVE                                                                        │
        │TrustAnchorCertificate  PEM, 58 characters                                                                            │
        │KMS keys                1: Unavailable 1                                                                              │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        y confirm  n/Esc cancel  Tab focus  Enter press focused
        """)
  }

  @Test func offerDisconnectDialog80x24() {
    #expect(
      Self.rendered("offerDisconnectDialog", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │stag┌─ Cannot connect ledger-archive ────────────────────────────────────┐ 2AZ│
        └────│ ledger-archive (cks-0de30000000000004) is FAILED                   │────┘
        ┌─ De│ (USER_LOCKED_OUT). A FAILED store must be disconnected first;      │────┐
        │Cust│ connecting it now would fail with                                  │    │
        │Cust│ CustomKeyStoreInvalidStateException.                               │    │
        │Cust│ Remedy: Disconnect, change the kmsuser password in the cluster,    │    │
        │Conn│ update KeyStorePassword, then connect.                             │    │
        │Conn│ Disconnect it first?                                               │    │
        │  Me│                                                                    │er  │
        │    │                    [ Cancel ]    Disconnect…                       │    │
        │  Re└────────────────────────────────────────────────────────────────────┘    │
        │                        cluster, update KeyStorePassword, then connect.       │
        │CreationDate            2026-08-22 14:13                                      │
        │CloudHsmClusterId       cluster-ledgerarch4 (ACTIVE), 2/2 HSMs ACTIVE         │
        │  us-east-1a            hsm-fffffffffff ACTIVE                                │
        └──────────────────────────────────────────────────────────────────────────────┘

        y confirm  n/Esc cancel  Tab focus  Enter press focused
        """)
  }

  @Test func qaPanel120x30() {
    #expect(
      Self.rendered("qaPanel", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr    ┌─ QA: cluster-ledgerarch4 of ledger-archive ───────────────────────────────────────┐oudHSM 2026-08-22│
        │ledger-archive  │ Next connect (after disconnect): FAILED (USER_LOCKED_OUT)                         │oudHSM 2026-08-22│
        │payments-prod   │                                                                                   │oudHSM 2026-08-22│
        │staging-keys    │ Faults                                                                            │oudHSM 2026-08-22│
        └────────────────│ [ ] CLUSTER_NOT_ACTIVE           Cluster not ACTIVE (state DEGRADED)              │─────────────────┘
        ┌─ Detail: ledger│ [ ] CLUSTER_DELETED              Cluster deleted                                  │─────────────────┐
        │CustomKeyStoreNa│ [ ] SECURITY_GROUP_MISCONFIGURED Cluster security group lacks TCP 2223-2225 rules │                 │
        │CustomKeyStoreId│ [ ] SUBNET_DELETED               A private subnet of the cluster was deleted      │                 │
        │CustomKeyStoreTy│ [ ] SUBNET_FULL                  A private subnet has no free IP address          │                 │
        │ConnectionState │ [ ] NETWORK_ERRORS               Network errors between KMS and the cluster       │                 │
        │ConnectionErrorC│ [ ] INTERNAL_ERROR               KMS internal error                               │                 │
        │  Meaning       │ [ ] KMSUSER_MISSING              kmsuser crypto user does not exist               │gins.            │
        │  Remedy        │ [x] KMSUSER_LOCKED_OUT           kmsuser locked out after failed logins           │rd, then         │
        │                │ [ ] KMSUSER_LOGGED_IN            kmsuser logged in elsewhere                      │                 │
        │CreationDate    │ [ ] KMSUSER_PASSWORD_CHANGED     kmsuser password changed in the cluster          │                 │
        │CloudHsmClusterI│ [ ] SLOW_CONNECT                 Connects take five times longer                  │                 │
        │  us-east-1a    │ HSMs                                                                              │                 │
        │  us-east-1c    │     hsm-fffffffffff  us-east-1a  ACTIVE                                           │                 │
        │TrustAnchorCerti│     hsm-ggggggggggg  us-east-1c  ACTIVE                                           │                 │
        │KMS keys        │   + add an HSM in us-east-1a                                                      │                 │
        │                │   + add an HSM in us-east-1c                                                      │                 │
        │                └───────────────────────────────────────────────────────────────────────────────────┘                 │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        Space toggle  x delete HSM  c connect  d disconnect  Esc close
        """)
  }

  @Test func qaPanel80x24() {
    #expect(
      Self.rendered("qaPanel", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌┌─ QA: cluster-ledgerarch4 of ledger-archive ────────────────────────────────┐┐
        ││ Next connect (after disconnect): FAILED (USER_LOCKED_OUT)                  ││
        ││                                                                            ││
        ││ Faults                                                                     ││
        ││ [ ] CLUSTER_NOT_ACTIVE           Cluster not ACTIVE (state DEGRADED)       ││
        ││ [ ] CLUSTER_DELETED              Cluster deleted                           ││
        └│ [ ] SECURITY_GROUP_MISCONFIGURED Cluster security group lacks TCP 2223-2225│┘
        ┌│ [ ] SUBNET_DELETED               A private subnet of the cluster was delete│┐
        ││ [ ] SUBNET_FULL                  A private subnet has no free IP address   ││
        ││ [ ] NETWORK_ERRORS               Network errors between KMS and the cluster││
        ││ [ ] INTERNAL_ERROR               KMS internal error                        ││
        ││ [ ] KMSUSER_MISSING              kmsuser crypto user does not exist        ││
        ││ [x] KMSUSER_LOCKED_OUT           kmsuser locked out after failed logins    ││
        ││ [ ] KMSUSER_LOGGED_IN            kmsuser logged in elsewhere               ││
        ││ [ ] KMSUSER_PASSWORD_CHANGED     kmsuser password changed in the cluster   ││
        ││ [ ] SLOW_CONNECT                 Connects take five times longer           ││
        ││ HSMs                                                                       ││
        ││     hsm-fffffffffff  us-east-1a  ACTIVE                                    ││
        ││     hsm-ggggggggggg  us-east-1c  ACTIVE                                    ││
        ││   + add an HSM in us-east-1a                                               ││
        └└────────────────────────────────────────────────────────────────────────────┘┘

        Space toggle  x delete HSM  c connect  d disconnect  Esc close
        """)
  }

  @Test func readOnly120x30() {
    #expect(
      Self.rendered("readOnly", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ READ-ONLY │ account 111122223333                 4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: payments-prod  (e: events) ─────────────────────────────────────────────────────────────────────────────────┐
        │CustomKeyStoreName      payments-prod                                                                                 │
        │CustomKeyStoreId        cks-0de30000000000001                                                                         │
        │CustomKeyStoreType      AWS_CLOUDHSM                                                                                  │
        │ConnectionState         CONNECTED since 13:13:20                                                                      │
        │CreationDate            2026-08-22 14:13                                                                              │
        │CloudHsmClusterId       cluster-paymentsprd (ACTIVE), 2/3 HSMs ACTIVE                                                 │
        │  us-east-1a            hsm-aaaaaaaaaaa ACTIVE                                                                        │
        │  us-east-1b            hsm-bbbbbbbbbbb ACTIVE                                                                        │
        │  us-east-1c            hsm-ccccccccccc DEGRADED                                                                      │
        │TrustAnchorCertificate  PEM, 58 characters                                                                            │
        │KMS keys                4: Disabled 1, Enabled 2, PendingDeletion 1                                                   │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        Read-only mode: disconnect is disabled (started with --read-only)
        READ-ONLY  q quit  ? help  j/k move  Enter keys  / filter  : command  s sort  e events  f faults
        """)
  }

  @Test func readOnly80x24() {
    #expect(
      Self.rendered("readOnly", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ READ-ON… 4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │payments-prod     ● CONNECTED              cks-0de30000000000001     4 2/3 3AZ│
        │staging-keys      ⠋ CONNECTING 12s         cks-0de30000000000005     0 2/2 2AZ│
        └──────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: payments-prod  (e: events) ─────────────────────────────────────────┐
        │CustomKeyStoreName      payments-prod                                         │
        │CustomKeyStoreId        cks-0de30000000000001                                 │
        │CustomKeyStoreType      AWS_CLOUDHSM                                          │
        │ConnectionState         CONNECTED since 13:13:20                              │
        │CreationDate            2026-08-22 14:13                                      │
        │CloudHsmClusterId       cluster-paymentsprd (ACTIVE), 2/3 HSMs ACTIVE         │
        │  us-east-1a            hsm-aaaaaaaaaaa ACTIVE                                │
        │  us-east-1b            hsm-bbbbbbbbbbb ACTIVE                                │
        │  us-east-1c            hsm-ccccccccccc DEGRADED                              │
        │TrustAnchorCertificate  PEM, 58 characters                                    │
        │KMS keys                4: Disabled 1, Enabled 2, PendingDeletion 1           │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘
        Read-only mode: disconnect is disabled (started with --read-only)
        READ-ONLY  q quit  ? help  j/k move  Enter keys  / filter  : command  s sort  e…
        """)
  }

  @Test func typedDialog120x30() {
    #expect(
      Self.rendered("typedDialog", Size(width: 120, height: 30)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08 │ account 111122223333                             4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────────────────────────────────────────────┐
        │NAME▲             ID                    STATE                    HSMS     KEYS CLUSTER             TYPE     CREATED   │
        │analytics-dr      cks-0de30000000000002 ○ DISCONNECTED           2/2 2AZ     1 cluster-analyticsdr CloudHSM 2026-08-22│
        │ledger-archive    cks-0de30000000000004 ✗ FAILED USER_LOCKED_OUT 2/2 2AZ     1 cluster-ledgerarch4 CloudHSM 2026-08-22│
        │payments-prod     cks-0de30000000000001 ● CONNECTED              2/3 3AZ     4 cluster-paymentsprd CloudHSM 2026-08-22│
        │staging-keys      cks-0de30000000000005 ⠋ CONNECTING 12s         2/2 2AZ     0 cluster-stagingenv3 CloudHSM 2026-08-22│
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘
        ┌─ Detail: payments-prod ┌─ Disconnect custom key store ──────────────────────────────────────┐────────────────────────┐
        │CustomKeyStoreName      │ Disconnect payments-prod (cks-0de30000000000001)?                  │                        │
        │CustomKeyStoreId        │ 3 KMS keys become Unavailable (aliases                             │                        │
        │CustomKeyStoreType      │ alias/payments/tokenization, alias/payments/pin).                  │                        │
        │ConnectionState         │ Creating keys in this store and all cryptographic operations with  │                        │
        │CreationDate            │ its keys will fail until it is connected again.                    │                        │
        │CloudHsmClusterId       │ Type the store name to confirm.                                    │                        │
        │  us-east-1a            │                                                                    │                        │
        │  us-east-1b            │ Name: paym                                                         │                        │
        │  us-east-1c            │                                                                    │                        │
        │TrustAnchorCertificate  │                     [ Cancel ]    Disconnect                       │                        │
        │KMS keys                └────────────────────────────────────────────────────────────────────┘                        │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        │                                                                                                                      │
        └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘

        type the name  Enter on OK confirms  Esc cancel  Tab focus
        """)
  }

  @Test func typedDialog80x24() {
    #expect(
      Self.rendered("typedDialog", Size(width: 80, height: 24)).text == """
        kmsdash │ embedded engine │ us-east-1 │ last change 14:13:08            4 stores
        ┌─ Custom key stores ──────────────────────────────────────────────────────────┐
        │NAME▲             STATE                    ID                     KEYS HSMS   │
        │analytics-dr      ○ DISCONNECTED           cks-0de30000000000002     1 2/2 2AZ│
        │ledger-archive    ✗ FAILED USER_LOCKED_OUT cks-0de30000000000004     1 2/2 2AZ│
        │paym┌─ Disconnect custom key store ──────────────────────────────────────┐ 3AZ│
        │stag│ Disconnect payments-prod (cks-0de30000000000001)?                  │ 2AZ│
        └────│ 3 KMS keys become Unavailable (aliases                             │────┘
        ┌─ De│ alias/payments/tokenization, alias/payments/pin).                  │────┐
        │Cust│ Creating keys in this store and all cryptographic operations with  │    │
        │Cust│ its keys will fail until it is connected again.                    │    │
        │Cust│ Type the store name to confirm.                                    │    │
        │Conn│                                                                    │    │
        │Crea│ Name: paym                                                         │    │
        │Clou│                                                                    │    │
        │  us│                     [ Cancel ]    Disconnect                       │    │
        │  us└────────────────────────────────────────────────────────────────────┘    │
        │  us-east-1c            hsm-ccccccccccc DEGRADED                              │
        │TrustAnchorCertificate  PEM, 58 characters                                    │
        │KMS keys                4: Disabled 1, Enabled 2, PendingDeletion 1           │
        │                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘

        type the name  Enter on OK confirms  Esc cancel  Tab focus
        """)
  }

}

@Suite struct ViewStyleTests {
  typealias F = Fixture

  /// Column of the first occurrence of `needle` on row `y`.
  func column(of needle: String, row y: Int, in buf: Buffer) -> Int? {
    var cols: [Int] = []
    var text = ""
    for x in 0..<buf.width where !buf[x, y].isContinuation {
      cols.append(x)
      text += buf[x, y].symbol
    }
    guard let r = text.range(of: needle) else { return nil }
    return cols[text.distance(from: text.startIndex, to: r.lowerBound)]
  }

  @Test func statesCarryColourAndAttributes() {
    let buf = view(F.state())
    let failed = column(of: "FAILED", row: 4, in: buf)!
    #expect(buf[failed, 4].style.fg == .red)
    #expect(buf[failed, 4].style.attributes.contains(.bold))
    let connected = column(of: "CONNECTED", row: 5, in: buf)!
    #expect(buf[connected, 5].style.fg == .green)
    let connecting = column(of: "CONNECTING", row: 6, in: buf)!
    #expect(buf[connecting, 6].style.fg == .yellow)
    let disconnected = column(of: "DISCONNECTED", row: 3, in: buf)!
    #expect(buf[disconnected, 3].style.attributes.contains(.reverse))  // selected row
    #expect(buf[disconnected, 3].style.attributes.contains(.dim))
  }

  @Test func noColorUsesAttributesOnly() {
    let buf = view(F.state(config: F.config(color: false)))
    for y in 0..<buf.height {
      for x in 0..<buf.width {
        #expect(buf[x, y].style.fg == .default && buf[x, y].style.bg == .default)
      }
    }
    let failed = column(of: "FAILED", row: 4, in: buf)!
    #expect(buf[failed, 4].style.attributes.contains(.bold))
  }

  @Test func changedRowIsHighlightedBriefly() {
    var s = F.state()
    _ = update(&s, .snapshot(F.snapshot(version: 2, paymentsState: .disconnecting), at: F.t0))
    let buf = view(s)
    let x = column(of: "payments-prod", row: 5, in: buf)!
    #expect(buf[x, 5].style.attributes.contains(.underline))
    _ = update(&s, .tick(F.t0.addingTimeInterval(5)))
    #expect(!view(s)[x, 5].style.attributes.contains(.underline))
  }

  @Test func spinnerAndElapsedFollowTheInjectedClock() {
    var s = F.state()
    let a = view(s).text
    _ = update(&s, .tick(F.t0.addingTimeInterval(0.1)))
    let b = view(s).text
    #expect(a != b)
    #expect(b.contains("⠙ CONNECTING 12s"))
    _ = update(&s, .tick(F.t0.addingTimeInterval(61)))
    #expect(view(s).text.contains("CONNECTING 1m13s"))
  }

  @Test func oneStateChangeRewritesFewCells() {
    var s = F.state()
    let before = view(s)
    var snap = F.snapshot(version: 2)
    snap.stores[1].connectionState = .connecting  // analytics-dr
    _ = update(&s, .snapshot(snap, at: F.t0))
    _ = update(&s, .tick(F.t0.addingTimeInterval(5)))  // past the highlight
    let after = view(s)
    let changes = after.diff(from: before)
    #expect(changes.count < 60)
    #expect(!changes.isEmpty)
  }

  @Test func hostileStoreNameIsInert() {
    var snap = F.snapshot()
    snap.stores[0].customKeyStoreName = "evil\u{1B}]0;pwned\u{07}\u{9B}31m\u{202E}gnp.exe\r\n"
    let buf = view(F.state(snapshot: snap))
    #expect(buf.text.contains("│evil␛]0;pwned␇\u{FFFD}3… cks-0de30000000000001"))
    for c in buf.cells {
      for u in c.symbol.unicodeScalars { #expect(u.value >= 0x20 && !(0x7F...0x9F).contains(u.value)) }
    }
  }

  @Test func tooSmallNotice() {
    let s = F.state(Size(width: 40, height: 10))
    #expect(
      view(s).text == """




                   Terminal too small
          40x10; kmsdash needs at least 60x15
         Enlarge the window, or press q to quit



        """)
  }
}
