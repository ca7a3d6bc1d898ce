import Crypto
import Foundation
import HSMSimulator
import KMSModel

/// One entry of a cached creation order.
struct OrderedID: Sendable {
  var sequence: UInt64
  var id: String
}

/// Records of a `TrackedDictionary` in creation order, sorted again only after a record was
/// added or removed.
struct CreationOrder: Sendable {
  private var membership: UInt64?
  private var order: [OrderedID] = []

  mutating func ids<Value>(
    of records: TrackedDictionary<Value>, sequence: (Value) -> UInt64, id: (Value) -> String
  ) -> [OrderedID] {
    if membership != records.membership {
      order = records.values.map { OrderedID(sequence: sequence($0), id: id($0)) }.sorted {
        $0.sequence < $1.sequence
      }
      membership = records.membership
    }
    return order
  }
}

struct Page<Item> {
  var items: [Item]
  var nextMarker: String?
}

extension KeyStoreEngine {
  /// `Limit`/`Marker` paging over IDs in creation order. A marker names the sequence number of
  /// the last item returned and carries a MAC, so deletions between pages lose nothing and only
  /// markers this engine issued are accepted (`InvalidMarkerException`). The marker is found by
  /// binary search and only the page's records are looked up, so a page of a 10,000-store fleet
  /// costs what a page of a small one does.
  func paginate<Item>(
    ordered: [OrderedID], item: (String) -> Item?, kind: String, limit: Int, marker: String?
  ) throws(KMSError) -> Page<Item> {
    var start = 0
    if let marker {
      guard let after = parseMarker(marker, kind: kind) else {
        throw KMSError(
          .invalidMarkerException, "The marker '\(marker.prefix(64))' is not valid for this request.")
      }
      var low = 0
      var high = ordered.count
      while low < high {
        let middle = (low + high) / 2
        if ordered[middle].sequence <= after { low = middle + 1 } else { high = middle }
      }
      start = low
    }
    var items: [Item] = []
    var last: UInt64 = 0
    var position = start
    while position < ordered.count && items.count < limit {
      if let found = item(ordered[position].id) {
        items.append(found)
        last = ordered[position].sequence
      }
      position += 1
    }
    let more = ordered[position...].contains { item($0.id) != nil }
    return Page(items: items, nextMarker: more && !items.isEmpty ? makeMarker(after: last, kind: kind) : nil)
  }

  private func markerTag(_ body: String) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: markerKey.symmetricKey)
    return Hex.lowercase(Data(mac).prefix(8))
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
