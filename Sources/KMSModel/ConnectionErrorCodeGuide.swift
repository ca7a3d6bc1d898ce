/// What each `ConnectionErrorCode` means and the documented way out (kms-spec §3.4).
extension ConnectionErrorCodeType {
  public var meaning: String {
    switch self {
    case .internalError: "KMS could not complete the request due to an internal error."
    case .networkErrors: "Network errors are preventing KMS from connecting to the backing key store."
    case .invalidCredentials:
      "The key store password (CloudHSM kmsuser) or the XKS proxy authentication credential is wrong."
    case .clusterNotFound: "KMS cannot find the CloudHSM cluster with the specified cluster ID."
    case .insufficientCloudhsmHsms: "The associated CloudHSM cluster does not contain any active HSMs."
    case .insufficientFreeAddressesInSubnet:
      "A private subnet of the cluster has no free IP address for the KMS network interface."
    case .subnetNotFound: "A subnet in the CloudHSM cluster configuration was deleted."
    case .userLockedOut: "The kmsuser crypto user is locked out of the cluster after too many failed logins."
    case .userLoggedIn:
      "The kmsuser crypto user is logged into the cluster, so KMS cannot rotate its password."
    case .userNotFound: "KMS cannot find a kmsuser crypto user in the CloudHSM cluster."
    case .xksProxyAccessDenied: "The external key store proxy's authorization rules deny KMS."
    case .xksProxyInvalidConfiguration: "A configuration error, typically a wrong XksProxyUriPath."
    case .xksProxyInvalidResponse: "KMS cannot parse the external key store proxy's response."
    case .xksProxyInvalidTlsConfiguration: "The proxy's TLS configuration is not acceptable to KMS."
    case .xksProxyNotReachable: "KMS cannot communicate with the external key store proxy."
    case .xksProxyTimedOut: "The external key store proxy did not answer in time."
    case .xksVpcEndpointServiceInvalidConfiguration: "The VPC endpoint service breaks a KMS requirement."
    case .xksVpcEndpointServiceNotFound: "KMS cannot find the VPC endpoint service."
    }
  }

  public var remedy: String {
    switch self {
    case .internalError: "Disconnect the custom key store, then try connecting again."
    case .networkErrors: "Disconnect, wait a few minutes, then connect again."
    case .invalidCredentials:
      "Disconnect, set the kmsuser password in the cluster, update KeyStorePassword, then connect."
    case .clusterNotFound:
      "Create a cluster from a backup of the original cluster, update CloudHsmClusterId, then connect."
    case .insufficientCloudhsmHsms: "Disconnect, add an HSM to the cluster, then connect."
    case .insufficientFreeAddressesInSubnet:
      "Disconnect, free IP addresses in the subnet (or move to a cluster with larger subnets), then connect."
    case .subnetNotFound:
      "Disconnect, create a cluster from a backup in valid subnets, update CloudHsmClusterId, then connect."
    case .userLockedOut:
      "Disconnect, change the kmsuser password in the cluster, update KeyStorePassword, then connect."
    case .userLoggedIn:
      "Disconnect, log kmsuser out of the cluster (update KeyStorePassword if you changed it), then connect."
    case .userNotFound: "Disconnect, create a kmsuser crypto user, update KeyStorePassword, then connect."
    case .xksProxyAccessDenied: "Fix the proxy's authorization policy, then disconnect and connect."
    case .xksProxyInvalidConfiguration: "Disconnect, correct the proxy URI path, then connect."
    case .xksProxyInvalidResponse: "Contact the proxy vendor; then disconnect and connect."
    case .xksProxyInvalidTlsConfiguration: "Fix the proxy's TLS certificate, then disconnect and connect."
    case .xksProxyNotReachable:
      "Fix the proxy endpoint, path or network and bring the key manager up; reconnect."
    case .xksProxyTimedOut: "Improve the proxy's latency, then disconnect and connect."
    case .xksVpcEndpointServiceInvalidConfiguration:
      "Fix the VPC endpoint service, then disconnect and connect."
    case .xksVpcEndpointServiceNotFound: "Fix the service name or its allowed principals; reconnect."
    }
  }
}
