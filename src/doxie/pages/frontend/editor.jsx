// Doxie's landing page editor: Puck in the Django admin. The host page passes the E1/E4
// URL and the CSRF token in a JSON script tag; everything else (update, publish, assets,
// upload URLs) comes from the E1/E4 payload. Rendering here is a preview only: the public
// page is rendered by the server from content_state.
import React, { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { Puck } from "@puckeditor/core";
import "@puckeditor/core/no-external.css";

const boot = JSON.parse(document.getElementById("doxie-editor-config").textContent);

async function call(method, url, body, isForm) {
  const headers = { Accept: "application/json", "X-CSRFToken": boot.csrf_token };
  if (body && !isForm) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method, headers, credentials: "same-origin",
    body: body ? (isForm ? body : JSON.stringify(body)) : undefined,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const details = (data && data.details) || [];
    const text = (data && (data.error || data.error_message)) || `HTTP ${response.status}`;
    throw new Error([text, ...details.map((d) => `${d.field}: ${d.message}`)].join("\n"));
  }
  return data;
}

function setStatus(text) {
  const el = document.getElementById("doxie-status");
  if (el) el.textContent = text;
}

function AssetField({ value, onChange, endpoints }) {
  const [assets, setAssets] = useState([]);
  const load = () => call("GET", endpoints.assets).then(setAssets).catch((e) => setStatus(e.message));
  useEffect(() => { load(); }, []);
  const upload = async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    form.append("filename", file.name);
    try {
      const asset = await call("POST", endpoints.upload, form, true);
      onChange(asset.data ? asset.data.id : asset.id);
      load();
    } catch (e) { setStatus(e.message); }
  };
  return (
    <div>
      <select value={value || ""} onChange={(e) => onChange(e.target.value)} data-testid="asset-select">
        <option value="">(no image)</option>
        {assets.map((a) => <option key={a.id} value={a.id}>{a.id.slice(0, 8)} {a.mimeType}</option>)}
      </select>
      <input type="file" accept="image/png,image/jpeg,image/gif,image/webp" onChange={upload} />
      {assets.filter((a) => a.id === value).map((a) => <img key={a.id} src={a.previewSrc} alt="" style={{ maxWidth: 120 }} />)}
    </div>
  );
}

function buildConfig(payload) {
  const assetSrc = {};
  const components = {
    Heading: {
      fields: { text: { type: "text" }, level: { type: "select", options: [1, 2, 3, 4].map((n) => ({ label: `H${n}`, value: n })) } },
      defaultProps: { text: "Heading", level: 2 },
      render: ({ text, level }) => React.createElement(`h${level || 2}`, null, text),
    },
    Text: {
      fields: { text: { type: "textarea" } },
      defaultProps: { text: "Text" },
      render: ({ text }) => <p style={{ whiteSpace: "pre-line" }}>{text}</p>,
    },
    RichText: {
      fields: { html: { type: "textarea" } },
      defaultProps: { html: "<p>Rich text</p>" },
      // Preview shows the markup as text: only the server renders (sanitized) HTML.
      render: ({ html }) => <div><code>{html}</code></div>,
    },
    Image: {
      fields: {
        asset_id: { type: "custom", label: "Image", render: (p) => <AssetField {...p} endpoints={payload.endpoints} /> },
        alt: { type: "text" }, width: { type: "number" },
      },
      defaultProps: { asset_id: "", alt: "", width: null },
      render: ({ asset_id, alt }) => <div>(image {alt || asset_id || ""})</div>,
    },
    Button: {
      fields: {
        label: { type: "text" }, href: { type: "text" },
        variant: { type: "select", options: ["primary", "secondary", "outline"].map((v) => ({ label: v, value: v })) },
      },
      defaultProps: { label: "Button", href: "", variant: "primary" },
      render: ({ label }) => <span style={{ display: "inline-block", padding: "8px 16px", border: "2px solid" }}>{label}</span>,
    },
    Columns: {
      fields: {
        columns: { type: "select", options: [{ label: "2", value: 2 }, { label: "3", value: 3 }] },
        col1: { type: "slot" }, col2: { type: "slot" }, col3: { type: "slot" },
      },
      defaultProps: { columns: 2, col1: [], col2: [], col3: [] },
      render: ({ columns, col1: C1, col2: C2, col3: C3 }) => (
        <div style={{ display: "grid", gridTemplateColumns: `repeat(${columns}, 1fr)`, gap: 16 }}>
          <C1 /><C2 />{columns === 3 ? <C3 /> : null}
        </div>
      ),
    },
    Section: {
      fields: {
        background: { type: "select", options: ["none", "light", "dark", "primary", "secondary"].map((v) => ({ label: v, value: v })) },
        items: { type: "slot" },
      },
      defaultProps: { background: "none", items: [] },
      render: ({ items: Items }) => <section style={{ padding: 16, border: "1px dashed #bbb" }}><Items /></section>,
    },
    Spacer: {
      fields: { size: { type: "select", options: ["small", "medium", "large"].map((v) => ({ label: v, value: v })) } },
      defaultProps: { size: "medium" },
      render: ({ size }) => <div style={{ height: { small: 12, medium: 32, large: 64 }[size] }} />,
    },
    Divider: { fields: {}, render: () => <hr /> },
    PageContent: { fields: {}, render: () => <div style={{ padding: 24, background: "#eef" }}>Page content</div> },
  };
  const allowed = payload.editor.components;
  return {
    components: Object.fromEntries(Object.entries(components).filter(([name]) => allowed.includes(name))),
    root: { fields: { title: { type: "text" } } },
  };
}

function Editor() {
  const [payload, setPayload] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    call("GET", boot.load_url).then((r) => setPayload(r.data)).catch((e) => setError(e.message));
  }, []);
  if (error) return <pre id="doxie-error">{error}</pre>;
  if (!payload) return <p>Loading…</p>;
  const config = buildConfig(payload);
  let current = payload.content_state;
  const save = async () => {
    setStatus("Saving…");
    try {
      const r = await call("PATCH", payload.endpoints.update, { content_state: current });
      setStatus(`Saved (version ${r.data.version})`);
      return true;
    } catch (e) { setStatus(e.message); return false; }
  };
  const publish = async (data) => {
    current = data;
    if (!(await save())) return;
    if (!payload.endpoints.publish) return;
    try {
      const r = await call("POST", payload.endpoints.publish);
      setStatus(`Publishing (${r.data.status})`);
    } catch (e) { setStatus(e.message); }
  };
  return (
    <Puck
      config={config}
      data={payload.content_state}
      iframe={{ enabled: false }}
      onChange={(data) => { current = data; }}
      onPublish={publish}
      headerTitle={payload.name}
      overrides={{
        headerActions: ({ children }) => (
          <>
            <button type="button" id="doxie-save" onClick={save}>Save</button>
            {payload.endpoints.publish
              ? <button type="button" id="doxie-publish" onClick={() => publish(current)}>Publish</button>
              : null}
          </>
        ),
      }}
    />
  );
}

createRoot(document.getElementById("doxie-editor")).render(<Editor />);
