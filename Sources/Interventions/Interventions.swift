// Interventions module
