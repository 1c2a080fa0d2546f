{{/*
Names. The fullname is the release name unless fullnameOverride is set, so that the Airflow subchart (which
sees the same .Release.Name) can name TRAIDER's Services: <release>-mlflow.
*/}}
{{- define "traider.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "traider.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "traider.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "traider.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "traider.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries; call with (dict "root" $ "component" "x"). */}}
{{- define "traider.labels" -}}
helm.sh/chart: {{ include "traider.chart" .root }}
{{ include "traider.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: traider
{{- end -}}

{{/* Selector labels; call with (dict "root" $ "component" "x") and optionally "color". */}}
{{- define "traider.selectorLabels" -}}
app.kubernetes.io/name: {{ include "traider.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- if .color }}
traider.io/color: {{ .color }}
{{- end }}
{{- end -}}

{{/* The image, with an optional tag override (a colour's imageTag); call with (dict "root" $ "tag" "x"). */}}
{{- define "traider.image" -}}
{{- $tag := .tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" .root.Values.image.repository $tag -}}
{{- end -}}

{{- define "traider.mlflowServiceName" -}}
{{- printf "%s-mlflow" (include "traider.fullname" .) -}}
{{- end -}}

{{- define "traider.mlflowUri" -}}
{{- if .Values.mlflow.enabled -}}
{{- printf "http://%s:%d" (include "traider.mlflowServiceName" .) (int .Values.mlflow.port) -}}
{{- else -}}
{{- required "config.mlflowTrackingUri is required when mlflow.enabled is false" .Values.config.mlflowTrackingUri -}}
{{- end -}}
{{- end -}}

{{/* A secret-backed environment variable; call with (list $ "ENV_NAME" "keyName"). */}}
{{- define "traider.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.name }}
      key: {{ index $root.Values.secrets.keys (index . 2) }}
{{- end -}}

{{/* The environment every TRAIDER container shares: secrets by reference only. */}}
{{- define "traider.env" -}}
{{ include "traider.secretEnv" (list . "TRAIDER_DATABASE_URL" "databaseUrl") }}
- name: TRAIDER_HOME
  value: /var/lib/traider
- name: TRAIDER_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: TRAIDER_MLFLOW_TRACKING_URI
  value: {{ include "traider.mlflowUri" . | quote }}
- name: MLFLOW_TRACKING_USERNAME
  value: {{ .Values.config.mlflowUsername | quote }}
{{ include "traider.secretEnv" (list . "MLFLOW_TRACKING_PASSWORD" "mlflowAdminPassword") }}
- name: HOME
  value: /tmp
{{- range $name, $value := .Values.config.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Writable scratch space of a container with a read-only root filesystem. */}}
{{- define "traider.scratchVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: traider-home
  mountPath: /var/lib/traider
{{- end -}}

{{- define "traider.scratchVolumes" -}}
- name: tmp
  emptyDir: {}
- name: traider-home
  emptyDir: {}
{{- end -}}

{{/* An HTTP GET as an exec probe, for servers that listen on 127.0.0.1 only; call with (list port path). */}}
{{- define "traider.execHttpProbe" -}}
exec:
  command:
    - python
    - -c
    - {{ printf "import urllib.request; urllib.request.urlopen('http://127.0.0.1:%d%s', timeout=5)" (int (index . 0)) (index . 1) | quote }}
{{- end -}}

{{- define "traider.podSpecCommon" -}}
serviceAccountName: {{ include "traider.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The worker's probe handler: GET /health, by exec or httpGet (worker.probeType). */}}
{{- define "traider.workerProbe" -}}
{{- if eq .Values.worker.probeType "httpGet" -}}
httpGet:
  path: /health
  port: health
{{- else if eq .Values.worker.probeType "exec" -}}
{{- include "traider.execHttpProbe" (list .Values.worker.healthPort "/health") }}
{{- else -}}
{{- fail (printf "worker.probeType must be exec or httpGet, not %q" .Values.worker.probeType) -}}
{{- end -}}
{{- end -}}
