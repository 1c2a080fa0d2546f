terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 7.0"
    }
  }

  # Keep the state remote and locked in real use, e.g.:
  # backend "s3" {
  #   bucket       = "<state bucket>"
  #   key          = "traider/eks.tfstate"
  #   region       = "eu-west-1"
  #   use_lockfile = true
  # }
}
