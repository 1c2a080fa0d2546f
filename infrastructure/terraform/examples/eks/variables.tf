variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the cluster and prefix of its network resources."
  type        = string
  default     = "traider"
}

variable "kubernetes_version" {
  description = "Kubernetes minor version, e.g. \"1.33\"."
  type        = string
  default     = "1.33"
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into one public and one private /20 per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zone_count" {
  description = "Number of availability zones to spread the subnets over (2 or 3)."
  type        = number
  default     = 2
}

variable "public_access_cidrs" {
  description = "CIDR blocks allowed to reach the Kubernetes API endpoint (your office or CI addresses)."
  type        = list(string)
}

variable "admin_principal_arns" {
  description = "IAM users or roles given cluster-admin."
  type        = list(string)
  default     = []
}
