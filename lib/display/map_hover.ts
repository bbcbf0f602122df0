/// <reference lib="dom" />
/**
 * The page code of the learned map ({@linkcode learnedMapBundle} in `map_figure.ts`): on
 * `plotly_hover`, draw the hovered point's image from the PNG sprite with its true class and
 * answer. The function is written into the output as its own source text, so it must use nothing
 * outside itself: everything comes in through its arguments or the page.
 *
 * @module
 */

/** Images per row of the map's sprite. */
export const SPRITE_COLUMNS = 50;

/**
 * Attaches the hover handler to the map inside the element `rootId` once plotly.js has drawn it
 * (polling for up to a minute, since the library may still be unzipping). The shown image's
 * sprite position is written to the root's `data-shown`, which the tests read.
 */
export function attachImageHover(rootId: string, columns: number): void {
  type PlotlyPoint = { customdata: [number, string, string] };
  type PlotDiv = HTMLElement & {
    on?: (event: string, handler: (data: { points: PlotlyPoint[] }) => void) => void;
  };
  const root = document.getElementById(rootId);
  if (root === null || root.dataset.hover === "attached") return;
  const plot = root.querySelector<PlotDiv>(".plotly-figure");
  const canvas = root.querySelector<HTMLCanvasElement>(".learned-map-hover canvas");
  const caption = root.querySelector<HTMLElement>(".learned-map-hover span");
  const sprite = root.querySelector<HTMLImageElement>(".learned-map-sprite");
  const context = canvas?.getContext("2d");
  if (!plot || !caption || !sprite || !context) return;
  const show = (point: PlotlyPoint) => {
    const [k, truth, answer] = point.customdata;
    context.clearRect(0, 0, 28, 28);
    context.drawImage(
      sprite,
      (k % columns) * 28,
      Math.floor(k / columns) * 28,
      28,
      28,
      0,
      0,
      28,
      28,
    );
    caption.textContent = `true ${truth}, answer ${answer}` +
      (truth === answer ? "" : " (a mistake)");
    root.dataset.shown = String(k);
  };
  let tries = 0;
  const attach = () => {
    if (typeof plot.on !== "function") {
      if (++tries < 600) setTimeout(attach, 100);
      return;
    }
    root.dataset.hover = "attached";
    plot.on("plotly_hover", (data) => {
      if (data.points.length > 0) show(data.points[0]);
    });
  };
  attach();
}
