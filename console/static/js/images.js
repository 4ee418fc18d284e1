// The image panel: thumbnails of the case's images, one large view that zooms and rotates,
// a full-size link, and the evidence checks of each image. The images come with the offer
// (`evidence`: [{image_id, kind, type, checks}]) and are read from
// /api/cases/<case>/images/<image>; a case without them shows "no images".
import { el, t } from "./common.js";

let zoom = 1;
let turn = 0;

function show(caseId, image) {
  const img = document.getElementById("image");
  const url = `/api/cases/${encodeURIComponent(caseId)}/images/${encodeURIComponent(image.image_id)}`;
  img.src = url;
  img.alt = `${image.kind} ${image.type || ""}`;
  img.hidden = false;
  document.getElementById("no-images").hidden = true;
  document.getElementById("full").href = url;
  zoom = 1;
  turn = 0;
  transform();
  const list = document.getElementById("evidence");
  list.replaceChildren();
  // each finding of the evidence checks (reused, stale, uploader): {check, message}
  for (const c of Array.isArray(image.checks) ? image.checks : []) {
    list.append(el("li", { class: "flag", text: `${c.check}: ${c.message}` }));
  }
}

function transform() {
  document.getElementById("image").style.transform = `scale(${zoom}) rotate(${turn}deg)`;
}

export function images(details) {
  const list = Array.isArray(details.evidence) ? details.evidence
    : Array.isArray(details.images) ? details.images : [];
  const thumbs = document.getElementById("thumbs");
  thumbs.replaceChildren();
  document.getElementById("evidence").replaceChildren();
  const img = document.getElementById("image");
  img.hidden = true;
  img.removeAttribute("src");
  document.getElementById("no-images").hidden = false;
  document.getElementById("full").removeAttribute("href");
  list.forEach((image, i) => {
    thumbs.append(el("button", { class: "thumb", "data-image": image.image_id,
                                 onclick: () => show(details.case_id, image),
                                 text: `${i + 1}. ${image.kind}${image.type ? " / " + image.type : ""}` }));
  });
  if (list.length) show(details.case_id, list[0]);
  return list.length;
}

export function wireImageTools() {
  document.getElementById("zoom-in").addEventListener("click", () => { zoom = Math.min(zoom * 1.25, 6); transform(); });
  document.getElementById("zoom-out").addEventListener("click", () => { zoom = Math.max(zoom / 1.25, 0.25); transform(); });
  document.getElementById("rotate").addEventListener("click", () => { turn = (turn + 90) % 360; transform(); });
  document.getElementById("no-images").textContent = t("noimages");
}

// The leaves of an image requirement tree, as "kind/type": what a return may name missing.
export function requiredImages(node, out = []) {
  if (!node) return out;
  if (node.kind) out.push(node.type ? `${node.kind}/${node.type}` : node.kind);
  for (const key of ["all_of", "any_of", "of"]) for (const child of node[key] || []) requiredImages(child, out);
  return [...new Set(out)];
}
