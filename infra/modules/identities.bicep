// User-assigned managed identities, one per workload.
//
// Why user-assigned rather than system-assigned: the role assignments (storage, Service
// Bus, Cosmos, Redis, ACR) are created *before* the function app and the container app
// exist, so the Functions host and the first container revision start with their
// permissions already in place (no restart loop while RBAC catches up), and the
// identities survive a re-creation of the apps.
//
//   api    - the function app (Functions host connections and the app's own SDK clients)
//   worker - the GPU container worker (receives jobs, reads chunks, sends results, pulls images)
//   scaler - only for the KEDA azure-servicebus scale rule of the worker. KEDA reads the
//            queue's message count through the management API, which needs the Manage
//            right (Azure Service Bus Data Owner). Giving that to a separate identity,
//            scoped to one queue, keeps the worker's own identity at Sender/Receiver.

param location string
param tags object
param apiIdentityName string
param workerIdentityName string
param scalerIdentityName string

resource api 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: apiIdentityName
  location: location
  tags: tags
}

resource worker 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: workerIdentityName
  location: location
  tags: tags
}

resource scaler 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: scalerIdentityName
  location: location
  tags: tags
}

output apiIdentityId string = api.id
output apiIdentityName string = api.name
output apiPrincipalId string = api.properties.principalId
output apiClientId string = api.properties.clientId

output workerIdentityId string = worker.id
output workerIdentityName string = worker.name
output workerPrincipalId string = worker.properties.principalId
output workerClientId string = worker.properties.clientId

output scalerIdentityId string = scaler.id
output scalerPrincipalId string = scaler.properties.principalId
