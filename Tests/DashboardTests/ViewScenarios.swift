import Foundation
import KMSModel
import TerminalUI

@testable import Dashboard

/// Named screens used by the snapshot tests, each at two sizes.
enum ViewScenarios {
  typealias F = Fixture
  static let sizes = [Size(width: 120, height: 30), Size(width: 80, height: 24)]

  static func all(_ size: Size) -> [(String, DashboardState)] {
    var out: [(String, DashboardState)] = []
    var s = F.state(size)
    out.append(("main", s))
    s.press(.char("j"))
    out.append(("failedDetail", s))
    var e = F.state(size)
    e.press(.char("e"))
    out.append(("events", e))
    var k = F.state(size)
    k.press(.char("j"), .char("j"), .enter)
    out.append(("keys", k))
    var d = F.state(size)
    d.press(.char("j"), .char("j"), .char("d"))
    out.append(("disconnectDialog", d))
    var c = F.state(size)
    c.press(.char("c"))
    out.append(("connectDialog", c))
    var o = F.state(size)
    o.press(.char("j"), .char("c"))
    out.append(("offerDisconnectDialog", o))
    var t = F.state(size, config: F.config(confirm: .typed))
    t.press(.char("j"), .char("j"), .char("d"))
    t.type("paym")
    out.append(("typedDialog", t))
    var h = F.state(size)
    h.press(.char("?"))
    out.append(("help", h))
    var q = F.state(size)
    q.press(.char("j"), .char("f"))
    _ = update(&q, .prediction(storeId: F.ledger, "FAILED (USER_LOCKED_OUT)"))
    out.append(("qaPanel", q))
    var cmd = F.state(size)
    cmd.press(.char(":"))
    cmd.type("connect cks-0de3")
    cmd.press(.tab)
    out.append(("commandLine", cmd))
    var fl = F.state(size)
    fl.press(.char("/"))
    fl.type("prod")
    out.append(("filter", fl))
    var ro = F.state(size, config: F.config(readOnly: true))
    ro.press(.char("j"), .char("j"), .char("d"))
    out.append(("readOnly", ro))
    var sd = F.state(size)
    sd.press(.char("j"), .char("j"), .enter, .char("x"))  // payments-prod, first key
    sd.type("00000000-0000-4000-8000-0000000")
    out.append(("scheduleDeletionDialog", sd))
    var ck = F.state(size)
    ck.press(.char("j"), .char("j"), .enter, .char("n"))
    ck.type("Settlement files")
    ck.press(.down)
    ck.type("alias/payments/settlement")
    out.append(("createKeyDialog", ck))
    var cs = F.state(size, snapshot: F.snapshotWithSpareCluster())
    cs.press(.char("n"))
    cs.type("edge-2")
    cs.press(.down, .down)
    cs.type("assets/certs/customerCA.crt")
    cs.press(.down)
    cs.type("Secret123")
    out.append(("createStoreDialog", cs))
    var ds = F.state(size)
    ds.press(.char("j"), .char("j"), .char("j"), .char("X"))  // staging-keys is CONNECTING: refused
    out.append(("deleteStoreRefused", ds))
    var rb = F.state(size)
    rb.press(.char("j"), .char("R"))
    _ = update(&rb, .prediction(storeId: F.ledger, "FAILED (USER_LOCKED_OUT)"))
    out.append(("runbook", rb))
    var ak = F.state(size, snapshot: F.snapshotWithAccountKeys())
    ak.press(.char("K"), .char("j"))
    out.append(("allKeys", ak))
    var vpc = F.state(size, snapshot: XKSViewTests.vpcSnapshot())
    vpc.selectedStoreId = XKSViewTests.vpcBroken
    out.append(("xksVpcDetail", vpc))
    return out
  }
}
