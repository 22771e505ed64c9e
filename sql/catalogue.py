"""The reference's 50 products (scripts/seed-50-products.sql in the seed system): three
categories, prices 19.99-2599.99, total stock 5317. Images are the storefront's own
per-category pictures (there is no internet in the lab).

And the load test's own catalogue: the products the shopper journey (loadtest/users.py) buys,
so a load test never sells the reference's products. They are in their own category and older
than every other product, so neither the first page of ``/api/products`` (the storefront's,
and the reference's frontend's ``per_page=50`` grid) nor the ids 1..50 the reference's clients
ask for ever show one; their names and descriptions match none of the reference's search
terms (electronics, clothing, home)."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

# (name, description, price, stock)
ELECTRONICS = [
    ("iPhone 15 Pro", "Titanium smartphone with A17 Pro chip and 48MP camera", "999.99", 50),
    ("Samsung Galaxy S24 Ultra", "Flagship Android phone with S Pen and 200MP camera", "1199.99", 45),
    ("MacBook Pro 16", "M3 Max laptop with Liquid Retina XDR display", "2599.99", 12),
    ("Dell XPS 15", "15.6-inch OLED laptop, Intel Core i9, 32GB RAM", "1899.99", 20),
    ("Sony WH-1000XM5", "Wireless noise-cancelling over-ear headphones", "399.99", 80),
    ("AirPods Pro", "Active noise cancellation earbuds with MagSafe case", "249.99", 150),
    ("iPad Air", "10.9-inch tablet with M2 chip", "599.99", 60),
    ("Canon EOS R6 Mark II", "Full-frame mirrorless camera body", "2499.99", 15),
    ("Sony A7 IV", "33MP full-frame mirrorless camera", "2299.99", 18),
    ("Apple Watch Series 9", "Smartwatch with always-on Retina display", "429.99", 70),
    ("Nintendo Switch OLED", "Handheld console with 7-inch OLED screen", "349.99", 90),
    ("PlayStation 5", "Next-gen console with ultra-high speed SSD", "499.99", 40),
    ("LG C3 55 OLED TV", "4K OLED smart TV with webOS", "1499.99", 25),
    ("Bose SoundLink Flex", "Portable waterproof Bluetooth speaker", "149.99", 120),
    ("Logitech MX Master 3S", "Ergonomic wireless performance mouse", "89.99", 130),
]
CLOTHING = [
    ("Levi's 501 Original Jeans", "Straight-fit button-fly denim", "69.99", 200),
    ("Nike Air Max 270", "Lifestyle sneakers with Max Air heel unit", "149.99", 120),
    ("Adidas Ultraboost 23", "Running shoes with Boost cushioning", "189.99", 100),
    ("North Face Nuptse Jacket", "Retro 700-fill down puffer jacket", "319.99", 60),
    ("Patagonia Better Sweater", "Fleece quarter-zip pullover", "139.99", 90),
    ("Ralph Lauren Oxford Shirt", "Classic-fit cotton oxford shirt", "98.99", 150),
    ("Uniqlo Heattech T-Shirt", "Warm base-layer long-sleeve tee", "19.99", 300),
    ("Canada Goose Parka", "Expedition down parka for extreme cold", "399.99", 45),
    ("Converse Chuck Taylor", "High-top canvas sneakers", "59.99", 250),
    ("Ray-Ban Wayfarer", "Classic acetate sunglasses", "169.99", 110),
    ("Lululemon Align Leggings", "High-rise buttery-soft yoga leggings", "98.99", 180),
    ("Champion Reverse Weave Hoodie", "Heavyweight fleece hoodie", "64.99", 160),
    ("Dr. Martens 1460 Boots", "8-eye smooth leather boots", "169.99", 85),
    ("Timberland 6-Inch Boot", "Waterproof premium nubuck boots", "209.99", 75),
    ("Hanes Crew Socks 6-Pack", "Cushioned cotton crew socks", "24.99", 280),
    ("Columbia Rain Jacket", "Waterproof breathable shell", "89.99", 130),
    ("Tommy Hilfiger Polo", "Slim-fit pique polo shirt", "59.99", 170),
    ("Carhartt Work Jacket", "Duck canvas detroit jacket", "199.99", 95),
    ("Vans Old Skool", "Suede and canvas skate shoes", "69.99", 220),
    ("Barbour Wax Jacket", "Waxed cotton classic jacket", "379.99", 50),
]
HOME = [
    ("Dyson V15 Detect", "Cordless vacuum with laser dust detection", "699.99", 30),
    ("KitchenAid Stand Mixer", "5-quart tilt-head stand mixer", "449.99", 40),
    ("Nespresso Vertuo", "Coffee and espresso machine with milk frother", "199.99", 85),
    ("Instant Pot Duo 7-in-1", "Electric pressure cooker, 6 quart", "89.99", 150),
    ("Le Creuset Dutch Oven", "5.5-quart enameled cast iron", "419.99", 35),
    ("Vitamix E310 Blender", "Professional-grade 48-ounce blender", "349.99", 45),
    ("iRobot Roomba j7+", "Self-emptying robot vacuum", "599.99", 32),
    ("Philips Hue Starter Kit", "Smart LED bulbs with bridge", "199.99", 197),
    ("Brooklinen Sheet Set", "Luxe sateen queen sheet set", "189.99", 120),
    ("Casper Original Pillow", "Pillow-in-pillow supportive design", "69.99", 200),
    ("Ninja Air Fryer", "4-quart air fryer with ceramic basket", "129.99", 200),
    ("Cuisinart Knife Set", "15-piece stainless steel block set", "99.99", 110),
    ("Yankee Candle Large Jar", "Long-burning scented candle", "39.99", 180),
    ("Breville Smart Oven", "Convection countertop toaster oven", "299.99", 60),
    ("Weber Spirit Grill", "Three-burner propane gas grill", "549.99", 38),
]
CATEGORIES = {"Electronics": ELECTRONICS, "Clothing": CLOTHING, "Home": HOME}


def image_url(category: str) -> str:
    return f"/img/{category.lower()}.svg"


def reference_products() -> list[tuple[str, str, Decimal, str, int, str]]:
    """(name, description, price, category, stock, image_url) of the 50 reference products."""
    return [(name, desc, Decimal(price), cat, stock, image_url(cat))
            for cat, items in CATEGORIES.items() for name, desc, price, stock in items]


LOADTEST_CATEGORY = "Load test"
# units of each load-test product: a full load test buys a few thousand units in all, so the
# load-test catalogue does not sell out for hundreds of runs (it is never restocked)
LOADTEST_STOCK = 100_000
LOADTEST_PRICE = Decimal("9.99")
# older than the reference products (seeded now) and the generated ones (a day or more ago)
LOADTEST_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def loadtest_products(start: int, count: int):
    """(name, description, price, category, stock, image_url, created_at) of load-test
    products start+1 .. start+count, the same whichever run creates them."""
    for n in range(start + 1, start + count + 1):
        name = f"Load-test item {n}"
        yield (name, "Bought by the load test's shopper journey, not by the reference's clients",
               LOADTEST_PRICE, LOADTEST_CATEGORY, LOADTEST_STOCK, "/img/home.svg",
               LOADTEST_EPOCH - timedelta(seconds=n))
