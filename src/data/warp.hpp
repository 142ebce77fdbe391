// Rotation and zoom of an 8-bit image about its centre (bilinear), the geometric part of the
// training augmentation: small pose and scale changes stand in for the other depression angle and
// serial variants that training never sees.
#pragma once
#include <cstdint>

namespace supsnn {

// out (H x W) = in rotated by angle_deg and zoomed by zoom about the centre ((W-1)/2, (H-1)/2).
// A positive angle turns the +x axis towards +y (rows run down, so clockwise on screen): at 90
// degrees the input pixel (cx + r, cy) lands on (cx, cy + r). zoom > 1 enlarges. Bilinear; pixels
// taken from outside the image read 0; values are rounded to the nearest integer.
void warp_image(int H, int W, const std::uint8_t* in, double angle_deg, double zoom,
                std::uint8_t* out);

}  // namespace supsnn
