// The GPU transcription worker (azd service "worker") on Azure Container Apps.
//
// Environment: workload-profiles environment with the always-present "Consumption"
// profile plus, unless useGpu is false, a GPU profile:
//   serverless GPU  (type 'Consumption-GPU-NC8as-T4' or 'Consumption-GPU-NC24-A100'):
//                   billed per second while a replica runs, scales to zero, needs GPU
//                   quota in the region;
//   dedicated GPU   (type 'NC24-A100', 'NC48-A100', 'NC96-A100'): nodes billed while
//                   allocated; minimum 0 nodes keeps the idle cost at zero.
//
// App: no ingress (it pulls work from Service Bus), min replicas 0, KEDA scale rule
// `azure-servicebus` on "transcription-jobs" authenticated with the "scaler" identity
// (Azure Service Bus Data Owner on that one queue, needed by KEDA to read the message
// count). The container itself runs as the "worker" identity (AZURE_CLIENT_ID):
// receive jobs, read chunks, send results. Images are pulled with the worker identity
// (AcrPull). Logs go to Azure Monitor through a diagnostic setting (no shared key of
// the Log Analytics workspace in the environment).

param location string
param tags object
param environmentName string
param appName string

@description('Run the worker on a GPU workload profile (needs quota); false (default): CPU consumption profile, WHISPER_DEVICE=cpu.')
param useGpu bool = false

@description('GPU workload profile type, e.g. Consumption-GPU-NC8as-T4, Consumption-GPU-NC24-A100 (serverless) or NC24-A100 (dedicated).')
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Dedicated GPU profiles only: most nodes the profile may allocate.')
@minValue(1)
param gpuDedicatedMaxNodes int = 1

@description('Container image; empty deploys a public placeholder until `azd deploy worker` pushes the real one.')
param image string = ''

param registryLoginServer string
param workerIdentityId string
param workerIdentityClientId string
param scalerIdentityId string

param serviceBusName string
param serviceBusFullyQualifiedNamespace string
param jobsQueueName string
param blobAccountUrl string
param applicationInsightsConnectionString string
param logAnalyticsWorkspaceId string

@description('Most replicas (each one holds a whole GPU).')
@minValue(1)
@maxValue(100)
param maxReplicas int = 4

@description('KEDA messageCount: waiting jobs per replica before another replica is added.')
@minValue(1)
param messagesPerReplica int = 10

@description('vCPU per replica; empty picks the serverless profile\'s whole-GPU size (T4: 8, A100: 24; CPU consumption: 4). Set it (and memory) for dedicated profiles.')
param cpu string = ''
@description('Memory per replica, e.g. 56Gi; empty picks the profile\'s size.')
param memory string = ''

@description('Port of an HTTP health endpoint (GET /healthz) in the worker; 0 when the worker serves none (no probes).')
@minValue(0)
@maxValue(65535)
param healthProbePort int = 0

@description('Worker environment beyond the connection settings: WHISPER_*, WORKER_CONCURRENCY, JOB_*.')
param workerSettings object = {}

var gpuProfileName = 'gpu'
var serverlessGpu = startsWith(gpuProfileType, 'Consumption-GPU')
var workloadProfileName = useGpu ? gpuProfileName : 'Consumption'

// Whole-GPU sizes of the serverless profiles; CPU consumption tops out at 4 vCPU / 8 GiB.
var defaultSizes = {
  'Consumption-GPU-NC8as-T4': {
    cpu: '8'
    memory: '56Gi'
  }
  'Consumption-GPU-NC24-A100': {
    cpu: '24'
    memory: '220Gi'
  }
  Consumption: {
    cpu: '4'
    memory: '8Gi'
  }
}
var sizeKey = useGpu ? gpuProfileType : 'Consumption'
var size = contains(defaultSizes, sizeKey) ? defaultSizes[sizeKey] : defaultSizes.Consumption
var replicaCpu = empty(cpu) ? size.cpu : cpu
var replicaMemory = empty(memory) ? size.memory : memory

var gpuProfile = serverlessGpu ? {
  name: gpuProfileName
  workloadProfileType: gpuProfileType
} : {
  name: gpuProfileName
  workloadProfileType: gpuProfileType
  minimumCount: 0
  maximumCount: gpuDedicatedMaxNodes
}

var consumptionProfiles = [
  {
    name: 'Consumption'
    workloadProfileType: 'Consumption'
  }
]

var placeholderImage = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'

// services/settings.py chooses the Azure adapters from the Functions-style connection names
// (the worker shares that code); BLOB_ACCOUNT_URL and SERVICEBUS_NAMESPACE carry the same
// endpoints under the adapter-neutral names.
var connectionEnv = {
  AZURE_CLIENT_ID: workerIdentityClientId
  AzureWebJobsStorage__blobServiceUri: blobAccountUrl
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
  SERVICEBUS_NAMESPACE: serviceBusFullyQualifiedNamespace
  BLOB_ACCOUNT_URL: blobAccountUrl
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Application Insights takes only Entra-signed telemetry here: the exporter signs with this identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${workerIdentityClientId};Authorization=AAD'
  WHISPER_DEVICE: useGpu ? 'cuda' : 'cpu'
  WHISPER_COMPUTE_TYPE: useGpu ? 'float16' : 'int8'
}
var env = union(connectionEnv, workerSettings)

var probes = healthProbePort == 0 ? [] : [
  {
    // Model load (CUDA init + weights) takes a while on a cold replica.
    type: 'Startup'
    httpGet: {
      path: '/healthz'
      port: healthProbePort
    }
    initialDelaySeconds: 5
    periodSeconds: 10
    failureThreshold: 30
  }
  {
    type: 'Liveness'
    httpGet: {
      path: '/healthz'
      port: healthProbePort
    }
    periodSeconds: 30
    failureThreshold: 3
  }
  {
    type: 'Readiness'
    httpGet: {
      path: '/healthz'
      port: healthProbePort
    }
    periodSeconds: 15
    failureThreshold: 3
  }
]

resource managedEnvironment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    zoneRedundant: false
    workloadProfiles: concat(consumptionProfiles, useGpu ? [gpuProfile] : [])
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs'
  scope: managedEnvironment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'ContainerAppConsoleLogs'
        enabled: true
      }
      {
        category: 'ContainerAppSystemLogs'
        enabled: true
      }
    ]
  }
}

resource worker 'Microsoft.App/containerApps@2025-01-01' = {
  name: appName
  location: location
  tags: union(tags, {
    'azd-service-name': 'worker'
  })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${workerIdentityId}': {}
      '${scalerIdentityId}': {}
    }
  }
  properties: {
    environmentId: managedEnvironment.id
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryLoginServer
          identity: workerIdentityId
        }
      ]
    }
    template: {
      // A stop signal lets the current job finish and be settled (gpu_worker/__main__.py).
      terminationGracePeriodSeconds: 120
      containers: [
        {
          name: 'worker'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json(replicaCpu)
            memory: replicaMemory
          }
          env: [
            for variable in items(env): {
              name: variable.key
              value: string(variable.value)
            }
          ]
          probes: probes
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        // Look at the queue often, but keep a replica (and its loaded model) for a few
        // minutes after the queue drains: chunks of one video arrive in waves.
        pollingInterval: 15
        cooldownPeriod: 300
        rules: [
          {
            name: 'transcription-jobs'
            custom: {
              type: 'azure-servicebus'
              metadata: {
                namespace: serviceBusName
                queueName: jobsQueueName
                messageCount: string(messagesPerReplica)
                activationMessageCount: '0'
              }
              identity: scalerIdentityId
            }
          }
        ]
      }
    }
  }
  dependsOn: [
    environmentLogs
  ]
}

output environmentId string = managedEnvironment.id
output environmentName string = managedEnvironment.name
output appName string = worker.name
output workloadProfileName string = workloadProfileName
