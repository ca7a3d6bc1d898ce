import Crypto
import Foundation
import KMSModel

struct Page<Item> {
  var items: [Item]
  var nextMarker: String?
}

extension KeyStoreEngine {
  /// `Limit`/`Marker` paging over items in creation order. A marker names the sequence number of
  /// the last item returned and carries a MAC, so deletions between pages lose nothing and only
  /// markers this engine issued are accepted (`InvalidMarkerException`).
  func paginate<Item>(
    _ items: [Item], sequence: (Item) -> UInt64, kind: String, limit: Int, marker: String?
  ) throws(KMSError) -> Page<Item> {
    var remaining = items[...]
    if let marker {
      guard let after = parseMarker(marker, kind: kind) else {
        throw KMSError(
          .invalidMarkerException, "The marker '\(marker.prefix(64))' is not valid for this request.")
      }
      remaining = remaining.drop { sequence($0) <= after }
    }
    let page = Array(remaining.prefix(limit))
    let more = remaining.count > page.count
    return Page(items: page, nextMarker: more ? makeMarker(after: sequence(page.last!), kind: kind) : nil)
  }

  private func markerTag(_ body: String) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: markerKey.symmetricKey)
    return Data(mac).prefix(8).map { String(format: "%02x", $0) }.joined()
  }

  func makeMarker(after sequence: UInt64, kind: String) -> String {
    let body = "\(kind).\(sequence)"
    return "\(body).\(markerTag(body))"
  }

  func parseMarker(_ marker: String, kind: String) -> UInt64? {
    let parts = marker.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0] == kind, let sequence = UInt64(parts[1]),
      markerTag("\(parts[0]).\(parts[1])") == parts[2]
    else { return nil }
    return sequence
  }
}
