// ModelFormats module
