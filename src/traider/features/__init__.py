"""Features: the dbt build of the feature marts (`dbt_runner`) and their online twin in pandas (`online`)."""
