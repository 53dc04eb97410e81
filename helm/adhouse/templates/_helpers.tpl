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

{{- define "adhouse.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
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
