// Renders /v1/openapi.json with the vendored Swagger UI (static/docs/VENDORED.md); no CDN.
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("docs");
  window.ui = SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
