// Log Analytics workspace + workspace-based Application Insights.
//
// Application Insights has local (instrumentation-key) auth disabled: telemetry is
// accepted only with an Entra token, so the function app sends
// APPLICATIONINSIGHTS_AUTHENTICATION_STRING (its managed identity) and holds the
// Monitoring Metrics Publisher role (see rbac.bicep). The connection string that remains
// in the app settings is an address, not a secret.

param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@description('Days Log Analytics keeps data (30 is included in the price).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Daily ingestion cap in GB; -1 for none. Keeps a noisy loop from becoming a large bill.')
param dailyQuotaGb int = 5

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    workspaceCapping: {
      dailyQuotaGb: dailyQuotaGb
    }
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

output logAnalyticsWorkspaceId string = logAnalytics.id
output logAnalyticsWorkspaceName string = logAnalytics.name
output applicationInsightsId string = applicationInsights.id
output applicationInsightsName string = applicationInsights.name
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
