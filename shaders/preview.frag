#version 330 core
// The preview's one fragment shader (after tev's uber-shader): view exposure, the display
// transform, false colour, mask overlay and the compare layouts, all driven by uniforms.
// Before this file come, in order (app/viewer/shader_program.py, fragment_source):
// - the constants, as #defines from the Python enums (app/viewer/preview_widget.py,
//   shader_defines): COMPARE_* (CompareMode), MASK_* (MaskView), CLUE_* (engine.masks.ClueSource)
//   and MAX_BANDS, the size of the false-colour arrays;
// - the view's modes, as VIEW_* #defines (ViewVariant): one program per combination in use, so
//   the compiler drops every path the view does not take. llvmpipe, a CPU rasteriser, would
//   otherwise evaluate the untaken sides for every pixel;
// - lut.glsl, then `vec3 display_chain(vec3 nits)`, generated from the display ops that the
//   export's processor runs (engine.processor.glsl): the display transform is not written here.

const vec3 BT2020_Y = vec3(0.2627, 0.6780, 0.0593);  // ITU-R BT.2020 Table 4

uniform sampler2D u_frame_a;   // source placed in nits, RGB16F, row 0 = top of the image
uniform sampler2D u_frame_b;   // graded HDR in nits
uniform sampler2D u_mask;      // R: clipped source, G: above the mastering peak
uniform sampler2D u_clues;     // R: ClueSource label (0..2 of 255), G: confidence in [0, 1]

uniform ivec2 u_image_size;   // the frame's full-resolution size: the view's image coordinates
uniform ivec2 u_texture_size;  // the frames' texture size: smaller for an engine proxy
uniform vec2 u_viewport_size;  // device pixels
uniform float u_zoom;          // device pixels per image pixel
uniform vec2 u_center;         // image point shown at the centre of each viewport

uniform float u_exposure_scale;  // 2^(view exposure in stops)

uniform float u_split;           // divider position, fraction of the viewport width
uniform float u_wipe_angle;      // radians, 0 = vertical divider
uniform float u_ratio_stops;     // log-ratio view: stops shown at full colour

uniform int u_band_count;
uniform float u_band_lo[MAX_BANDS];
uniform float u_band_hi[MAX_BANDS];
uniform vec3 u_band_colour[MAX_BANDS];

uniform float u_mask_opacity;
uniform vec3 u_mask_colour;
uniform vec3 u_clue_colour[3];   // engine.masks.CLUE_COLOURS by ClueSource

out vec4 frag_colour;

// The false-colour band holding luminance y (cd/m², after view exposure), or -1.
int false_colour_band(float y) {
    int band = -1;
    for (int i = u_band_count - 1; i >= 0; --i) {
        if (y >= u_band_lo[i] && y < u_band_hi[i]) {
            band = i;  // counting down, so the first matching band of the list wins
        }
    }
    return band;
}

vec3 log_ratio_colour(vec3 a, vec3 b) {
    float ya = dot(BT2020_Y, a);
    float yb = dot(BT2020_Y, b);
    // 1e-3 cd/m² keeps black pixels from producing infinite ratios.
    float r = clamp(log2((yb + 1e-3) / (ya + 1e-3)) / u_ratio_stops, -1.0, 1.0);
    return r >= 0.0 ? r * vec3(1.0, 0.35, 0.2) : -r * vec3(0.2, 0.45, 1.0);
}

void main() {
    // Screen position with y down, like the image rows.
    vec2 screen = vec2(gl_FragCoord.x, u_viewport_size.y - gl_FragCoord.y);
    vec2 view_size = u_viewport_size;
    bool right_half = false;
    if (VIEW_COMPARE == COMPARE_SIDE_BY_SIDE) {
        view_size.x = floor(u_viewport_size.x * 0.5);
        right_half = screen.x >= view_size.x;
        screen.x -= right_half ? view_size.x : 0.0;
    }
    vec2 image = (screen - 0.5 * view_size) / u_zoom + u_center;
    if (any(lessThan(image, vec2(0.0))) || any(greaterThanEqual(image, vec2(u_image_size)))) {
        frag_colour = vec4(vec3(0.08), 1.0);
        return;
    }
    // A proxy covers the same image at a lower resolution: nearest texel of the same point.
    ivec2 texel = min(ivec2(floor(image * (vec2(u_texture_size) / vec2(u_image_size)))), u_texture_size - 1);
    vec3 a = VIEW_HAS_A != 0 ? texelFetch(u_frame_a, texel, 0).rgb : vec3(0.0);
    vec3 b = VIEW_HAS_B != 0 ? texelFetch(u_frame_b, texel, 0).rgb : a;

    // Pick the light to show first, then run the display transform once: GPUs without real
    // branching (llvmpipe among them) pay for every path of the shader on every pixel.
    vec3 nits;
    float divider = 1e9;  // distance in device pixels to the split/wipe line
    if (VIEW_COMPARE == COMPARE_A) {
        nits = a;
    } else if (VIEW_COMPARE == COMPARE_B || VIEW_COMPARE == COMPARE_LOG_RATIO) {
        nits = b;
    } else if (VIEW_COMPARE == COMPARE_SIDE_BY_SIDE) {
        nits = right_half ? b : a;
    } else if (VIEW_COMPARE == COMPARE_DIFFERENCE) {
        nits = abs(b - a);
    } else {
        vec2 origin = vec2(u_split * u_viewport_size.x, 0.5 * u_viewport_size.y);
        float angle = VIEW_COMPARE == COMPARE_WIPE ? u_wipe_angle : 0.0;
        divider = dot(screen - origin, vec2(cos(angle), sin(angle)));
        nits = divider < 0.0 ? a : b;
    }
    bool false_colour = VIEW_FALSE_COLOUR != 0 && VIEW_COMPARE != COMPARE_DIFFERENCE
                        && VIEW_COMPARE != COMPARE_LOG_RATIO;
    int band = -1;
    if (false_colour) {
        // Outside the named bands false colour shows the pixel's displayed luminance as grey.
        float y = dot(BT2020_Y, nits);
        band = false_colour_band(y * u_exposure_scale);
        nits = vec3(y);
    }
    vec3 colour = display_chain(nits * u_exposure_scale);
    if (false_colour) {
        colour = band >= 0 ? u_band_colour[band] : vec3(dot(BT2020_Y, colour));
    }
    if (VIEW_COMPARE == COMPARE_LOG_RATIO) {
        colour = log_ratio_colour(a, b);
    }
#if VIEW_MASK == MASK_CLUES
    {
        // engine.masks.ClueMap.overlay: the source's colour at opacity x the share it gave
        // (confidence for a reference, 1 - confidence for the fallback's fill); a frame's own
        // pixels stay as they are.
        vec2 clue = texelFetch(u_clues, texel, 0).rg;
        int source = int(round(clue.r * 255.0));
        if (source != CLUE_OWN) {
            float share = source == CLUE_FALLBACK ? 1.0 - clue.g : clue.g;
            colour = mix(colour, u_clue_colour[source], u_mask_opacity * share);
        }
    }
#elif VIEW_MASK != MASK_NONE  // #if: a constant index must be a valid channel even where unused
    {
        float m = texelFetch(u_mask, texel, 0)[VIEW_MASK];
        colour = mix(colour, u_mask_colour, u_mask_opacity * m);
    }
#endif
    if (abs(divider) < 1.0) {
        colour = vec3(0.85);
    }
    frag_colour = vec4(colour, 1.0);
}
