// ChatTemplates module
