output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.cluster.cluster_name
}

output "cluster_endpoint" {
  description = "URL of the Kubernetes API server."
  value       = module.cluster.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Run this to point kubectl and helm at the cluster."
  value       = module.cluster.kubeconfig_command
}

output "vpc_id" {
  description = "VPC of the cluster."
  value       = aws_vpc.this.id
}
