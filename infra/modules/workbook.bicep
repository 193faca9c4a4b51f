// The ML dashboard (an Azure Monitor workbook) and the alert rules, over the telemetry that
// services/telemetry.py sends to Application Insights (the Azure Monitor OpenTelemetry distro).
//
// OpenTelemetry metrics land in `customMetrics` (name = the instrument's name, value = the sum
// over the export interval, valueCount / valueMin / valueMax, attributes in customDimensions);
// server spans in `requests`, the others in `dependencies`. Histograms arrive aggregated (no
// buckets), so the latency percentiles come from the spans, the means from valueSum / valueCount.
//
// Alerts (log search alerts, evaluated over the Application Insights resource):
//   dead letters   any job dead-lettered (classroom.jobs.dead_lettered)            severity 1
//   failure rate   failed videos or 5xx answers above failureRatePercent          severity 2
//   classify p99   POST /api/v1/classify slower than classifyP99Ms at the 99th     severity 2
//   RTF            transcription slower than rtfAlertThreshold seconds per second   severity 2
//                  of audio (its speed, 1/RTF, dropped: a GPU lost, a CPU fallback)

param location string
param tags object
@description('Prefix of the alert rules\' names, e.g. the environment\'s resource token.')
param namePrefix string
@description('Resource id of the Application Insights component the app and the worker send to.')
param applicationInsightsId string
@description('Who is told when an alert fires; empty: the alerts fire without notifying anyone.')
param alertEmail string = ''
@minValue(1)
@maxValue(100)
param failureRatePercent int = 10
@minValue(50)
param classifyP99Ms int = 1000
@description('Mean real-time factor (decode seconds per audio second) above which transcription is too slow.')
param rtfAlertThreshold string = '0.5'

var notify = !empty(alertEmail)

resource actionGroup 'Microsoft.Insights/actionGroups@2022-04-01' = if (notify) {
  name: 'ag-${namePrefix}-ml'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'classroomml'
    enabled: true
    emailReceivers: [
      {
        name: 'ml-owner'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroups = notify ? [actionGroup.id] : []

// --- the workbook ------------------------------------------------------------------------------

var metricMean = 'customMetrics | where name == "{0}" | extend version = tostring(customDimensions["classroom.model.version"]) | summarize mean = sum(valueSum) / sum(valueCount) by version, bin(timestamp, {1})'

var panels = [
  {
    name: 'predictions'
    title: 'Predictions by model version and label'
    query: 'customMetrics | where name == "classroom.classifier.predictions" | extend series = strcat(tostring(customDimensions["classroom.model.version"]), " ", tostring(customDimensions["classroom.label"])) | summarize predictions = sum(valueSum) by series, bin(timestamp, 1h)'
    visualization: 'barchart'
  }
  {
    name: 'confidence'
    title: 'Mean confidence per model version (drift)'
    query: format(metricMean, 'classroom.classifier.confidence', '1h')
    visualization: 'linechart'
  }
  {
    name: 'oeq-share'
    title: 'OEQ share of videos\' questions per model version (drift)'
    query: format(metricMean, 'classroom.video.oeq_share', '1d')
    visualization: 'linechart'
  }
  {
    name: 'throughput'
    title: 'Videos finished per hour, by outcome'
    query: 'customMetrics | where name == "classroom.videos.completed" | extend outcome = tostring(customDimensions["classroom.outcome"]) | summarize videos = sum(valueSum) by outcome, bin(timestamp, 1h)'
    visualization: 'barchart'
  }
  {
    name: 'rtf'
    title: 'Transcription real-time factor (decode s per audio s; lower is faster)'
    query: format(metricMean, 'classroom.transcription.real_time_factor', '15m')
    visualization: 'linechart'
  }
  {
    name: 'queue'
    title: 'Time in queue and chunk latency (mean, s)'
    query: 'customMetrics | where name in ("messaging.process.queue_time", "classroom.transcription.chunk.duration") | summarize mean = sum(valueSum) / sum(valueCount) by name, bin(timestamp, 15m)'
    visualization: 'linechart'
  }
  {
    name: 'wait'
    title: 'Wait time after educator questions (mean, s) and questions per video'
    query: 'customMetrics | where name in ("classroom.question.wait_time", "classroom.video.questions") | summarize mean = sum(valueSum) / sum(valueCount) by name, bin(timestamp, 1d)'
    visualization: 'linechart'
  }
  {
    name: 'cache'
    title: 'Prediction cache hit rate'
    query: 'customMetrics | where name == "classroom.classifier.cache.lookups" | extend hit = tostring(customDimensions["classroom.cache.hit"]) | summarize hits = sumif(valueSum, hit =~ "true"), lookups = sum(valueSum) by bin(timestamp, 1h) | extend hit_rate = hits / lookups | project timestamp, hit_rate'
    visualization: 'linechart'
  }
  {
    name: 'classify-latency'
    title: 'POST /api/v1/classify latency (ms)'
    query: 'requests | where name == "POST /api/v1/classify" | summarize p50 = percentile(duration, 50), p95 = percentile(duration, 95), p99 = percentile(duration, 99) by bin(timestamp, 15m)'
    visualization: 'linechart'
  }
  {
    name: 'failures'
    title: 'Failures: dead letters, retries, failed videos, 5xx answers'
    query: 'union (customMetrics | where name in ("classroom.jobs.dead_lettered", "classroom.transcription.retries") | summarize count_ = sum(valueSum) by name, bin(timestamp, 1h)), (customMetrics | where name == "classroom.videos.completed" and customDimensions["classroom.outcome"] == "failed" | summarize count_ = sum(valueSum) by name = "videos failed", bin(timestamp, 1h)), (requests | where toint(resultCode) >= 500 | summarize count_ = count() by name = "5xx answers", bin(timestamp, 1h))'
    visualization: 'barchart'
  }
]

var panelItems = [for panel in panels: {
  type: 3
  name: panel.name
  content: {
    version: 'KqlItem/1.0'
    title: panel.title
    query: panel.query
    size: 0
    timeContextFromParameter: 'TimeRange'
    queryType: 0
    resourceType: 'microsoft.insights/components'
    visualization: panel.visualization
  }
  customWidth: '50'
}]

var workbookContent = {
  version: 'Notebook/1.0'
  items: concat([
    {
      type: 1
      name: 'title'
      content: {
        json: '## Classroom question analytics: the ML pipeline\nPredictions, confidence and drift per model version, throughput, transcription speed and failures. No question text is ever sent (TELEMETRY_INCLUDE_TEXT is for debugging only).'
      }
    }
    {
      type: 9
      name: 'parameters'
      content: {
        version: 'KqlParameterItem/1.0'
        parameters: [
          {
            id: 'time-range'
            version: 'KqlParameterItem/1.0'
            name: 'TimeRange'
            type: 4
            value: {
              durationMs: 86400000
            }
            typeSettings: {
              selectableValues: [
                {
                  durationMs: 3600000
                }
                {
                  durationMs: 86400000
                }
                {
                  durationMs: 604800000
                }
                {
                  durationMs: 2592000000
                }
              ]
            }
          }
        ]
      }
    }
  ], panelItems)
  isLocked: false
  fallbackResourceIds: [
    applicationInsightsId
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, applicationInsightsId, 'classroom-ml-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Classroom ML: predictions, drift, throughput, transcription, failures'
    category: 'workbook'
    sourceId: applicationInsightsId
    serializedData: string(workbookContent)
  }
}

// --- alert rules ---------------------------------------------------------------------------------

var alerts = [
  {
    name: 'dead-letters'
    displayName: 'Transcription jobs dead-lettered'
    description: 'A job was dead-lettered (poison audio, a model that does not load, retries spent): its video failed or will.'
    severity: 1
    window: 'PT15M'
    query: 'customMetrics | where name == "classroom.jobs.dead_lettered" | summarize value = sum(valueSum)'
    threshold: 0
  }
  {
    name: 'failure-rate'
    displayName: 'Failure rate of videos and requests'
    description: 'More than ${failureRatePercent}% of the videos finished in the last hour failed, or of the API\'s answers were 5xx.'
    severity: 2
    window: 'PT1H'
    query: 'let videos = customMetrics | where name == "classroom.videos.completed" | summarize failed = sumif(valueSum, customDimensions["classroom.outcome"] == "failed"), total = sum(valueSum); let answers = requests | summarize failed = countif(toint(resultCode) >= 500), total = count(); union videos, answers | where total > 0 | summarize value = max(100.0 * failed / total)'
    threshold: failureRatePercent
  }
  {
    name: 'classify-p99'
    displayName: 'Classify latency p99'
    description: 'The 99th percentile of POST /api/v1/classify is above ${classifyP99Ms} ms.'
    severity: 2
    window: 'PT15M'
    query: 'requests | where name == "POST /api/v1/classify" | summarize value = percentile(duration, 99)'
    threshold: classifyP99Ms
  }
  {
    name: 'rtf'
    displayName: 'Transcription slowed down (real-time factor)'
    description: 'The worker needs more than ${rtfAlertThreshold} s per second of audio: its speed dropped (a lost GPU, a CPU fallback, a larger model).'
    severity: 2
    window: 'PT30M'
    query: 'customMetrics | where name == "classroom.transcription.real_time_factor" | summarize value = sum(valueSum) / sum(valueCount) | extend value = iff(value > ${rtfAlertThreshold}, 1, 0)'
    threshold: 0
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for alert in alerts: {
  name: 'alert-${namePrefix}-${alert.name}'
  location: location
  tags: tags
  properties: {
    displayName: alert.displayName
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: alert.window
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'value'
          operator: 'GreaterThan'
          threshold: alert.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroups
    }
  }
}]

output workbookId string = workbook.id
output alertRuleIds array = [for (alert, i) in alerts: rules[i].id]
