"""A point is found in its grid through the tiles the grid's boundary touches."""

import pytest

from shared import geo


def square(west, south, side):
    return geo.to_text({"type": "Polygon", "coordinates": [[
        [west, south], [west + side, south], [west + side, south + side],
        [west, south + side], [west, south]]]})


@pytest.mark.parametrize("lat, lng", [
    (39.9, 116.4),             # a corner, on a tile's edge
    (39.915, 116.415),         # the far corner, in the next tile
    (39.9075, 116.4075),       # inside
    (39.9099999, 116.4100001),  # either side of a tile's edge
])
def test_every_point_a_boundary_covers_has_its_tile_among_the_boundarys_tiles(lat, lng):
    boundary = square(116.4, 39.9, 0.015)
    assert geo.covers(boundary, lat, lng)
    assert geo.tile_of(lat, lng) in geo.tiles(boundary)


def test_a_small_grid_touches_few_tiles():
    assert len(geo.tiles(square(116.4012, 39.9012, 0.004))) == 1
    assert len(geo.tiles(square(116.4081, 39.9081, 0.004))) == 4


def test_a_point_far_from_a_boundary_is_not_in_its_tiles():
    assert geo.tile_of(39.95, 116.4) not in geo.tiles(square(116.4, 39.9, 0.015))
