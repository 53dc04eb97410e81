{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "adhouse.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the release name alone when it already contains the chart name. */}}
{{- define "adhouse.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "adhouse.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "adhouse.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "adhouse.selectorLabels" -}}
app.kubernetes.io/name: {{ include "adhouse.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "adhouse.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "adhouse.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is set (immutable), else repository:tag. */}}
{{- define "adhouse.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The Secret holding the ClickHouse password; empty when there is none. */}}
{{- define "adhouse.passwordSecretName" -}}
{{- if .Values.clickhouse.existingSecret }}
{{- .Values.clickhouse.existingSecret }}
{{- else if .Values.clickhouse.password }}
{{- include "adhouse.fullname" . }}-clickhouse
{{- end }}
{{- end }}

{{- define "adhouse.passwordSecretKey" -}}
{{- if .Values.clickhouse.existingSecret }}
{{- .Values.clickhouse.existingSecretKey }}
{{- else }}
{{- print "password" }}
{{- end }}
{{- end }}

{{/* Environment shared by every adhouse container: ClickHouse, logging, config file. */}}
{{- define "adhouse.env" -}}
- name: ADHOUSE__CLICKHOUSE__URL
  value: {{ required "clickhouse.url is required, e.g. https://abc123.eu-west-1.aws.clickhouse.cloud:8443" .Values.clickhouse.url | quote }}
- name: ADHOUSE__CLICKHOUSE__USER
  value: {{ .Values.clickhouse.user | quote }}
- name: ADHOUSE__CLICKHOUSE__DATABASE
  value: {{ .Values.clickhouse.database | quote }}
{{- with include "adhouse.passwordSecretName" . }}
- name: ADHOUSE__CLICKHOUSE__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ include "adhouse.passwordSecretKey" $ }}
{{- end }}
- name: ADHOUSE__LOG__FORMAT
  value: {{ .Values.logFormat | quote }}
{{- if .Values.config }}
- name: ADHOUSE_CONFIG
  value: /etc/adhouse/config/config.toml
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes and mounts every adhouse pod has: a writable /tmp and the optional config.toml. */}}
{{- define "adhouse.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.config }}
- name: config
  configMap:
    name: {{ include "adhouse.fullname" . }}-config
{{- end }}
{{- end }}

{{- define "adhouse.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.config }}
- name: config
  mountPath: /etc/adhouse/config
  readOnly: true
{{- end }}
{{- end }}

{{/*
Hook annotations of what the migrate Job reads (the chart's password Secret and
config.toml): pre-install hooks run before the release's ordinary resources
exist, so these are created first (lower weight) and replaced at each upgrade.
*/}}
{{- define "adhouse.preHookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation
{{- end }}

{{/* "true" when an ad platform is enabled (account linking, sync queue, schedule). */}}
{{- define "adhouse.platformsEnabled" -}}
{{- if or .Values.platforms.meta.enabled .Values.platforms.google.enabled }}true{{ end }}
{{- end }}

{{- define "adhouse.publicUrl" -}}
{{- if .Values.platforms.publicUrl }}
{{- .Values.platforms.publicUrl }}
{{- else if .Values.api.ingress.enabled }}
{{- printf "https://%s" .Values.api.ingress.host }}
{{- end }}
{{- end }}

{{/*
platforms.* of the containers that link or sync accounts (API, ingester,
schedule). Secrets only through secretKeyRef; Google's developer token is
optional, as in the settings.
*/}}
{{- define "adhouse.platformsEnv" -}}
{{- if include "adhouse.platformsEnabled" . }}
{{- $p := .Values.platforms }}
{{- $secret := required "platforms.existingSecret is required with a platform enabled (state secret, vault keys, client secrets)" $p.existingSecret }}
- name: ADHOUSE__PLATFORMS__PUBLIC_URL
  value: {{ required "platforms.publicUrl is required with a platform enabled (or enable api.ingress)" (include "adhouse.publicUrl" .) | quote }}
- name: ADHOUSE__PLATFORMS__SYNC_QUEUE_URL
  value: {{ required "platforms.syncQueueUrl is required with a platform enabled" $p.syncQueueUrl | quote }}
- name: ADHOUSE__PLATFORMS__BACKFILL_DAYS
  value: {{ $p.backfillDays | quote }}
- name: ADHOUSE__PLATFORMS__REQUEST_TIMEOUT_SECS
  value: {{ $p.requestTimeoutSecs | quote }}
- name: ADHOUSE__PLATFORMS__STATE_SECRET
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $p.secretKeys.stateSecret }} }
- name: ADHOUSE__PLATFORMS__VAULT_KEYS
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $p.secretKeys.vaultKeys }} }
{{- with $p.meta }}
- name: ADHOUSE__PLATFORMS__META__ENABLED
  value: {{ .enabled | quote }}
{{- if .enabled }}
- name: ADHOUSE__PLATFORMS__META__CLIENT_ID
  value: {{ required "platforms.meta.clientId is required with platforms.meta.enabled" .clientId | quote }}
- name: ADHOUSE__PLATFORMS__META__CLIENT_SECRET
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $p.secretKeys.metaClientSecret }} }
- name: ADHOUSE__PLATFORMS__META__RESTATE_DAYS
  value: {{ .restateDays | quote }}
{{- end }}
{{- end }}
{{- with $p.google }}
- name: ADHOUSE__PLATFORMS__GOOGLE__ENABLED
  value: {{ .enabled | quote }}
{{- if .enabled }}
- name: ADHOUSE__PLATFORMS__GOOGLE__CLIENT_ID
  value: {{ required "platforms.google.clientId is required with platforms.google.enabled" .clientId | quote }}
- name: ADHOUSE__PLATFORMS__GOOGLE__CLIENT_SECRET
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $p.secretKeys.googleClientSecret }} }
- name: ADHOUSE__PLATFORMS__GOOGLE__DEVELOPER_TOKEN
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $p.secretKeys.googleDeveloperToken }}, optional: true }
- name: ADHOUSE__PLATFORMS__GOOGLE__RESTATE_DAYS
  value: {{ .restateDays | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* AWS_* of the containers that call S3 or SQS. */}}
{{- define "adhouse.awsEnv" -}}
{{- with .Values.aws.region }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- with .Values.aws.endpointUrl }}
- name: AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* The container's envFrom with the static AWS keys, when they come from a Secret. */}}
{{- define "adhouse.awsEnvFrom" -}}
{{- with .Values.aws.existingSecret }}
envFrom:
  - secretRef:
      name: {{ . }}
{{- end }}
{{- end }}

{{/* topologySpreadConstraints of one component's pods (the argument is a dict: ctx, component). */}}
{{- define "adhouse.topologySpread" -}}
{{- $ctx := .ctx }}
{{- if $ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range $ctx.Values.topologySpread.topologyKeys }}
  - maxSkew: {{ $ctx.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "adhouse.selectorLabels" $ctx | nindent 8 }}
        app.kubernetes.io/component: {{ $.component }}
{{- end }}
{{- end }}
{{- end }}
