"""Input files a person gives: strict YAML (``yamlfiles``) and SamuTenant documents
(``tenantfiles``), read with errors that name the file, the field and the fix."""
